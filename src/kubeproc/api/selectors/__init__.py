"""Label and field selectors with kube-apiserver's grammar, semantics and error texts.

The list and watch handlers parse ``labelSelector``/``fieldSelector`` here, check the
field selector against the kind (``check_field_selector``), and match each object with
``LabelSelector.matches(labels)`` and ``FieldSelector.matches(field_set(rt, obj))``.
Controllers use ``LabelSelector.from_label_selector_object`` for ``spec.selector``.
``labels`` holds the label grammar, ``fields`` the field grammar and per-kind fields.
"""

from kubeproc.api.selectors.fields import (
    FieldRequirement,
    FieldSelector,
    check_field_selector,
    convert_field_selector,
    escape_value,
    field_set,
)
from kubeproc.api.selectors.labels import (
    LabelSelector,
    Requirement,
    format_labels,
    selector_string,
)

__all__ = [
    "FieldRequirement",
    "FieldSelector",
    "LabelSelector",
    "Requirement",
    "check_field_selector",
    "convert_field_selector",
    "escape_value",
    "field_set",
    "format_labels",
    "selector_string",
]
