"""Namespace lifecycle: the rules kube-apiserver's NamespaceLifecycle admission enforces.

Owns the system namespaces (created at start, never deletable), the check that a body's
``metadata.namespace`` agrees with the request's, and the refusals of content in a
namespace that does not exist (404) or is being terminated (403). The resource handlers
check match and existence before validation, as admission runs first; the object store
checks all three on every create, since in-process callers (bootstrap) do not pass
through a handler. Pure: callers look the namespace up and pass what they found.
"""

from __future__ import annotations

from typing import Any

from kubeproc.api.errors import BadRequest, Forbidden, NotFound
from kubeproc.api.resources import ResourceType

# The namespaces every cluster has, in the order they are created.
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PROTECTED_NAMESPACES = frozenset(SYSTEM_NAMESPACES)


def is_namespace(rt: ResourceType) -> bool:
    return (rt.group, rt.kind) == ("", "Namespace")


def check_body_namespace(given: Any, namespace: str | None) -> None:
    """A body naming another namespace than the request path is a 400."""
    if given and given != namespace:
        raise BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
        )


def require_namespace(
    ns_rt: ResourceType, namespace: str, found: dict[str, Any] | None
) -> dict[str, Any]:
    """The namespace that content is written into; a 404 when it does not exist."""
    if found is None:
        raise NotFound.of(ns_rt.group_resource, namespace)
    return found


def check_not_terminating(rt: ResourceType, namespace: str, name: str, ns: dict[str, Any]) -> None:
    """No new content in a namespace being deleted: a 403 naming the reason."""
    if not ns["metadata"].get("deletionTimestamp"):
        return
    raise Forbidden(
        f'{rt.group_resource} "{name}" is forbidden: unable to create new content in '
        f"namespace {namespace} because it is being terminated",
        details={
            "name": name,
            "kind": rt.plural,
            "causes": [
                {
                    "reason": "NamespaceTerminating",
                    "message": f"namespace {namespace} is being terminated",
                    "field": "metadata.namespace",
                }
            ],
        },
    )


def check_deletable(rt: ResourceType, name: str) -> None:
    """The system namespaces may not be deleted: a 403."""
    if is_namespace(rt) and name in PROTECTED_NAMESPACES:
        raise Forbidden(
            f'namespaces "{name}" is forbidden: this namespace may not be deleted',
            details={"name": name, "kind": "namespaces"},
        )
