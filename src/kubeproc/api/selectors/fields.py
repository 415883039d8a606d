"""Field selectors: ``fields.ParseSelector`` and, per kind, which fields exist and their values.

Two tables drive it, both taken from kube-apiserver: the field-label conversions a kind's
scheme registers (pkg/apis/core/v1/conversion.go and friends), which decide whether a
selector is *accepted*, and the registries' ``GetAttrs``/``ToSelectableFields``, which
decide what a field's *value* is. They differ on purpose: apps/v1 ReplicaSets carry
``status.replicas`` in their field set yet the server refuses to select on it, because
apps/v1 registers no conversion and the default one knows only name and namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubeproc.api.errors import BadRequest
from kubeproc.api.resources import ResourceType

_OPERATORS = ("!=", "==", "=")  # the order ParseSelector tries them at each position


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    operator: str  # "=", "==" or "!="
    value: str


def escape_value(value: str) -> str:
    """``fields.EscapeValue``."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _unescape(value: str) -> str:
    out: list[str] = []
    escaped = False
    for c in value:
        if escaped:
            if c not in "\\,=":
                raise BadRequest(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c in ",=":
            # Go formats the rune with %v, which prints its code point.
            raise BadRequest(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if escaped:
        raise BadRequest("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not escaped."""
    terms: list[str] = []
    start, escaped = 0, False
    for i, c in enumerate(text):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    return [*terms, text[start:]]


def _parse_term(text: str, term: str) -> FieldRequirement:
    for i in range(len(term)):
        for op in _OPERATORS:
            if term.startswith(op, i):
                return FieldRequirement(term[:i], op, _unescape(term[i + len(op) :]))
    raise BadRequest(f"invalid selector: '{text}'; can't understand '{term}'")


@dataclass(frozen=True)
class FieldSelector:
    """Terms in sorted order (as the server sorts them), all of which must hold."""

    requirements: tuple[FieldRequirement, ...] = ()

    @classmethod
    def parse(cls, text: str) -> FieldSelector:
        """``fields.ParseSelector``; raises ``BadRequest`` with the server's message."""
        terms = sorted(_split_terms(text)) if text else []
        return cls(tuple(_parse_term(text, term) for term in terms if term))

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, fields: dict[str, str]) -> bool:
        """A missing field reads as ``""``, so ``spec.nodeName=`` selects unscheduled pods."""
        return all(
            (fields.get(r.field, "") == r.value) != (r.operator == "!=") for r in self.requirements
        )

    def __str__(self) -> str:
        return ",".join(
            f"{r.field}{'!=' if r.operator == '!=' else '='}{escape_value(r.value)}"
            for r in self.requirements
        )


# -- which fields a kind accepts ------------------------------------------------------------

_META = ("metadata.name", "metadata.namespace")
_EVENT = (
    *(f"involvedObject.{f}" for f in (
        "kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"
    )),
    "reason", "reportingComponent", "source", "type", *_META,
)  # fmt: skip
# Kinds whose scheme registers a conversion (answering "field label not supported: x").
# Every other kind gets DefaultMetaV1FieldSelectorConversion, which answers differently.
_SUPPORTED: dict[tuple[str, str], frozenset[str]] = {
    ("", "pods"): frozenset({
        *_META, "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
        "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
        "status.nominatedNodeName",
    }),
    ("", "nodes"): frozenset({"metadata.name", "spec.unschedulable"}),
    ("", "replicationcontrollers"): frozenset({*_META, "status.replicas"}),
    ("", "events"): frozenset(_EVENT),
    ("events.k8s.io", "events"): frozenset(_EVENT),
    ("", "namespaces"): frozenset({"metadata.name", "status.phase"}),
    ("", "secrets"): frozenset({*_META, "type"}),
    ("", "services"): frozenset({*_META, "spec.clusterIP", "spec.type"}),
}  # fmt: skip
# Old v1 clients send spec.host; the pod conversion renames it.
_RENAMED = {("", "pods", "spec.host"): "spec.nodeName"}


def convert_field_selector(rt: ResourceType, sel: FieldSelector) -> FieldSelector:
    """The selector after ``rt``'s field-label conversion; ``BadRequest`` if refused."""
    supported = _SUPPORTED.get((rt.group, rt.plural))
    out: list[FieldRequirement] = []
    for req in sel.requirements:
        renamed = _RENAMED.get((rt.group, rt.plural, req.field))
        if renamed is not None:
            req = FieldRequirement(renamed, req.operator, req.value)  # noqa: PLW2901
        elif supported is not None and req.field not in supported:
            raise BadRequest(f"field label not supported: {req.field}")
        elif supported is None and req.field not in _META:
            raise BadRequest(
                f'"{req.field}" is not a known field selector: '
                'only "metadata.name", "metadata.namespace"'
            )
        out.append(req)
    return FieldSelector(tuple(out))


def check_field_selector(rt: ResourceType, sel: FieldSelector) -> None:
    """Raise ``BadRequest`` (the server's text) if ``sel`` names a field ``rt`` refuses."""
    convert_field_selector(rt, sel)


# -- what a field's value is ----------------------------------------------------------------


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _text(obj: Any, path: str) -> str:
    value = _get(obj, path)
    return "" if value is None else str(value)


def _flag(obj: Any, path: str) -> str:
    return "true" if _get(obj, path) is True else "false"


def _count(obj: Any, path: str) -> str:
    value = _get(obj, path)
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "0"


def _pod_fields(pod: dict[str, Any]) -> dict[str, str]:
    fields = {
        p: _text(pod, p)
        for p in (
            "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
            "spec.serviceAccountName", "status.phase", "status.nominatedNodeName",
        )
    }  # fmt: skip
    fields["spec.hostNetwork"] = _flag(pod, "spec.hostNetwork")
    # The primary IP: podIPs[0] (v1 podIP is converted into podIPs when podIPs is empty).
    ips = _get(pod, "status.podIPs") or [{"ip": _text(pod, "status.podIP")}]
    fields["status.podIP"] = _text(ips[0], "ip")
    return fields


def _event_fields(event: dict[str, Any]) -> dict[str, str]:
    # Accepts the core/v1 shape (as stored) and the events.k8s.io/v1 one.
    ref = event.get("involvedObject") or event.get("regarding") or {}
    source = event.get("source") or event.get("deprecatedSource") or {}
    reporting = _text(event, "reportingComponent") or _text(event, "reportingController")
    fields = {
        f"involvedObject.{f}": _text(ref, f)
        for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
    }
    fields["reason"] = _text(event, "reason")
    fields["reportingComponent"] = reporting
    fields["source"] = _text(source, "component") or reporting
    fields["type"] = _text(event, "type")
    return fields


def field_set(rt: ResourceType, obj: dict[str, Any]) -> dict[str, str]:
    """The selectable fields of ``obj`` and their values (the registry's ``GetAttrs``)."""
    fields = {"metadata.name": _text(obj, "metadata.name")}
    if rt.namespaced:
        fields["metadata.namespace"] = _text(obj, "metadata.namespace")
    kind = (rt.group, rt.plural)
    if kind == ("", "pods"):
        fields.update(_pod_fields(obj))
    elif rt.plural == "events":
        fields.update(_event_fields(obj))
    elif kind == ("", "nodes"):
        fields["spec.unschedulable"] = _flag(obj, "spec.unschedulable")
    elif kind == ("", "namespaces"):
        fields["status.phase"] = _text(obj, "status.phase")
        fields["name"] = fields["metadata.name"]  # the registry keeps this for old clients
    elif kind == ("", "secrets"):
        fields["type"] = _text(obj, "type")
    elif kind == ("", "services"):
        fields["spec.clusterIP"] = _text(obj, "spec.clusterIP")
        fields["spec.type"] = _text(obj, "spec.type")
    elif kind in (("", "replicationcontrollers"), ("apps", "replicasets")):
        fields["status.replicas"] = _count(obj, "status.replicas")
    return fields
