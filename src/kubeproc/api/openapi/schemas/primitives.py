"""Schemas of the apimachinery types that marshal as JSON primitives, not objects.

Quantity, IntOrString, Time, MicroTime and FieldsV1 are Go structs with custom JSON
encodings, so Kubernetes publishes them as named schemas with a fixed body instead of
properties. The bodies follow what kubectl relies on: a schema with a ``type`` is shown by
that type (``creationTimestamp <string>``), one without (``oneOf`` only) by its name
(``port <IntOrString>``, ``limits <map[string]Quantity>``). The strict field checker never
looks inside them. Patch is the opaque request body of every PATCH operation.
"""

from __future__ import annotations

from kubeproc.api.openapi.dsl import (
    FIELDS_V1,
    INT_OR_STRING,
    META,
    MICRO_TIME,
    QUANTITY,
    TIME,
    Schema,
    primitive,
)

SCHEMAS: tuple[Schema, ...] = (
    primitive(
        QUANTITY.name,
        "An amount of a resource, as a decimal number with an optional suffix: binary "
        "(Ki, Mi, Gi, Ti, Pi, Ei), decimal SI (m, k, M, G, T, P, E) or an exponent (1e3). "
        "Examples: 100m (0.1 CPU), 128Mi, 1.5Gi, 2. Values are kept in a canonical form, so "
        "1000m may be read back as 1.",
        {"oneOf": [{"type": "string"}, {"type": "number"}]},
    ),
    primitive(
        INT_OR_STRING.name,
        "A value that is either an integer or a string, such as a port number or port name, "
        "or a count or percentage like 25%.",
        {
            "format": "int-or-string",
            "x-kubernetes-int-or-string": True,
            "oneOf": [{"type": "integer"}, {"type": "string"}],
        },
    ),
    primitive(
        TIME.name,
        "A point in time, written in RFC 3339 form with second precision, e.g. "
        "2024-01-02T15:04:05Z.",
        {"type": "string", "format": "date-time"},
    ),
    primitive(
        MICRO_TIME.name,
        "A point in time with microsecond precision, in RFC 3339 form, e.g. "
        "2024-01-02T15:04:05.000001Z.",
        {"type": "string", "format": "date-time"},
    ),
    primitive(
        FIELDS_V1.name,
        "A set of field paths in the FieldsV1 trie format used by server-side apply: keys "
        'such as "f:spec" or "k:{...}" name fields and list entries, and "." marks a leaf.',
        {"type": "object"},
    ),
    primitive(
        f"{META}.Patch",
        "The body of a PATCH request: a JSON patch, a JSON merge patch, a strategic merge "
        "patch or an apply configuration, as named by the Content-Type.",
        {"type": "object"},
    ),
)
