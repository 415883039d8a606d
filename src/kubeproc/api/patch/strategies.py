"""How each served kind merges: the patch metadata Kubernetes keeps in its Go struct tags.

Owns one table per kind, transcribed from the k8s.io/api and apimachinery types (v0.33):
the ``patchStrategy``/``patchMergeKey`` tags that strategic merge patch reads, and the
``+listType``/``+listMapKey``/``+structType``/``+mapType`` markers that server-side apply
reads. ``strategic``, ``typed`` and ``apply`` look positions up here.

Only positions that differ from the defaults are written down, plus the path leading to
them. The defaults are what both algorithms do with a field they know nothing special
about: a JSON object merges key by key, and a list is replaced whole (atomic). So a table
is small, and a field we never listed still behaves as Kubernetes treats an unannotated
one. Types are shared the way Go shares them: a Deployment's ``spec.template.spec`` is the
same ``POD_SPEC`` node as a Pod's ``spec``.

``ZERO`` holds, per kind, the JSON of Go's zero value of the type (non-pointer structs and
non-``omitempty`` lists appear). The apiserver compares against that shape, so it decides
where a FieldsV1 tree says ``"."``. ``reset_fields`` names the fields each endpoint leaves
alone (a registry strategy's ``GetResetFields``), which are never recorded as owned there.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ListType(StrEnum):
    """Server-side apply's ``x-kubernetes-list-type``."""

    ATOMIC = "atomic"
    SET = "set"
    MAP = "map"


@dataclass(frozen=True)
class Schema:
    """What Kubernetes knows about one position in an object.

    A position holds a struct (``fields``), a ``map[string]X`` (``is_map``, ``values``) or
    a list (``items``); the JSON value found there decides which of those applies.
    """

    fields: Mapping[str, Schema] = field(default_factory=dict)
    values: Schema | None = None
    is_map: bool = False
    items: Schema | None = None
    # Server-side apply.
    list_type: ListType = ListType.ATOMIC
    keys: tuple[str, ...] = ()
    key_defaults: Mapping[str, Any] = field(default_factory=dict)
    atomic: bool = False
    # Strategic merge patch.
    merge: bool = False
    merge_key: str = ""
    retain_keys: bool = False

    def child(self, name: str) -> Schema:
        """The schema of member ``name`` of the object at this position."""
        found = self.fields.get(name)
        if found is not None:
            return found
        return self.values if self.values is not None else ANY

    def item(self) -> Schema:
        """The schema of each element of the list at this position."""
        return self.items if self.items is not None else ANY

    def is_field(self, name: str) -> bool:
        """Whether ``name`` is a named struct field here, not a key of a map."""
        return not self.is_map or name in self.fields


ANY = Schema()
ATOMIC = Schema(atomic=True)


def struct(**fields: Schema) -> Schema:
    return Schema(fields=fields)


def string_map(*, atomic: bool = False) -> Schema:
    return Schema(is_map=True, atomic=atomic)


def map_list(
    *keys: str,
    items: Schema = ANY,
    smp: bool = True,
    retain_keys: bool = False,
    key_defaults: Mapping[str, Any] | None = None,
) -> Schema:
    """A list merged by key: SSA keys ``keys``; SMP merges by the first (its merge key)."""
    return Schema(
        items=items,
        list_type=ListType.MAP,
        keys=keys,
        key_defaults=key_defaults or {},
        merge=smp,
        merge_key=keys[0] if smp else "",
        retain_keys=retain_keys,
    )


def set_list() -> Schema:
    """A list of scalars merged as a set (SSA ``set``; SMP ``merge`` without a key)."""
    return Schema(list_type=ListType.SET, merge=True)


# --- meta/v1 -------------------------------------------------------------------------

OBJECT_META = struct(
    labels=string_map(),
    annotations=string_map(),
    ownerReferences=map_list("uid", items=ATOMIC),
    finalizers=set_list(),
)
LABEL_SELECTOR = ATOMIC
CONDITIONS = map_list("type")

# --- core/v1 -------------------------------------------------------------------------

RESOURCES = struct(
    limits=string_map(),
    requests=string_map(),
    claims=map_list("name", smp=False),
)
CONTAINER = struct(
    ports=map_list("containerPort", "protocol", key_defaults={"protocol": "TCP"}),
    env=map_list(
        "name",
        items=struct(
            valueFrom=struct(
                fieldRef=ATOMIC,
                resourceFieldRef=ATOMIC,
                configMapKeyRef=ATOMIC,
                secretKeyRef=ATOMIC,
            )
        ),
    ),
    resources=RESOURCES,
    volumeMounts=map_list("mountPath"),
    volumeDevices=map_list("devicePath"),
)
_SECRET_REF = struct(secretRef=ATOMIC)
VOLUME = struct(
    iscsi=_SECRET_REF,
    rbd=_SECRET_REF,
    flexVolume=struct(secretRef=ATOMIC, options=string_map()),
    cinder=_SECRET_REF,
    cephfs=_SECRET_REF,
    scaleIO=_SECRET_REF,
    storageos=_SECRET_REF,
    csi=struct(nodePublishSecretRef=ATOMIC, volumeAttributes=string_map()),
    ephemeral=struct(
        volumeClaimTemplate=struct(
            metadata=OBJECT_META,
            spec=struct(selector=LABEL_SELECTOR, dataSource=ATOMIC, resources=RESOURCES),
        )
    ),
)
POD_SPEC = struct(
    volumes=map_list("name", items=VOLUME, retain_keys=True),
    initContainers=map_list("name", items=CONTAINER),
    containers=map_list("name", items=CONTAINER),
    ephemeralContainers=map_list("name", items=CONTAINER),
    nodeSelector=string_map(atomic=True),
    imagePullSecrets=map_list("name", items=ATOMIC),
    affinity=struct(nodeAffinity=struct(requiredDuringSchedulingIgnoredDuringExecution=ATOMIC)),
    hostAliases=map_list("ip"),
    topologySpreadConstraints=map_list(
        "topologyKey", "whenUnsatisfiable", items=struct(labelSelector=LABEL_SELECTOR)
    ),
    schedulingGates=map_list("name"),
    resourceClaims=map_list("name", retain_keys=True),
    overhead=string_map(),
    resources=RESOURCES,
)
POD_STATUS = struct(
    conditions=CONDITIONS,
    # SMP merges host IPs by ip, yet SSA declares the list atomic.
    hostIPs=Schema(merge=True, merge_key="ip"),
    podIPs=map_list("ip"),
    resourceClaimStatuses=map_list("name", retain_keys=True),
)
POD_TEMPLATE_SPEC = struct(metadata=OBJECT_META, spec=POD_SPEC)


def _object(**fields: Schema) -> Schema:
    return struct(metadata=OBJECT_META, **fields)


_STATUS_CONDITIONS = struct(conditions=CONDITIONS)

KINDS: dict[tuple[str, str], Schema] = {
    ("", "Pod"): _object(spec=POD_SPEC, status=POD_STATUS),
    ("", "Service"): _object(
        spec=struct(
            ports=map_list("port", "protocol", key_defaults={"protocol": "TCP"}),
            selector=string_map(atomic=True),
        ),
        status=_STATUS_CONDITIONS,
    ),
    ("", "Endpoints"): _object(),
    ("", "Event"): _object(involvedObject=ATOMIC, related=ATOMIC),
    ("", "Namespace"): _object(status=_STATUS_CONDITIONS),
    ("", "Node"): _object(
        spec=struct(podCIDRs=set_list()),
        status=struct(
            conditions=CONDITIONS,
            addresses=map_list("type"),
            capacity=string_map(),
            allocatable=string_map(),
        ),
    ),
    ("", "ConfigMap"): _object(data=string_map(), binaryData=string_map()),
    ("", "Secret"): _object(data=string_map(), stringData=string_map()),
    ("", "ServiceAccount"): _object(secrets=map_list("name", items=ATOMIC)),
    ("", "ReplicationController"): _object(
        spec=struct(selector=string_map(atomic=True), template=POD_TEMPLATE_SPEC),
        status=_STATUS_CONDITIONS,
    ),
    ("apps", "Deployment"): _object(
        spec=Schema(
            fields={
                "selector": LABEL_SELECTOR,
                "template": POD_TEMPLATE_SPEC,
                "strategy": Schema(retain_keys=True),
            }
        ),
        status=_STATUS_CONDITIONS,
    ),
    ("apps", "ReplicaSet"): _object(
        spec=struct(selector=LABEL_SELECTOR, template=POD_TEMPLATE_SPEC),
        status=_STATUS_CONDITIONS,
    ),
    ("coordination.k8s.io", "Lease"): _object(),
    ("discovery.k8s.io", "EndpointSlice"): _object(),
    ("events.k8s.io", "Event"): _object(regarding=ATOMIC, related=ATOMIC),
    ("networking.k8s.io", "NetworkPolicy"): _object(spec=struct(podSelector=LABEL_SELECTOR)),
    ("autoscaling", "Scale"): _object(),
}

_UNKNOWN_KIND = _object()


def schema_for(group: str, kind: str) -> Schema:
    """The schema of a whole object of ``group``/``kind`` (defaults for kinds not listed)."""
    return KINDS.get((group, kind), _UNKNOWN_KIND)


# --- Go zero values and reset fields ---------------------------------------------------

_META_ZERO: dict[str, Any] = {"creationTimestamp": None}
_POD_SPEC_ZERO: dict[str, Any] = {"containers": None}
_TEMPLATE_ZERO: dict[str, Any] = {"metadata": _META_ZERO, "spec": _POD_SPEC_ZERO}

ZERO: dict[tuple[str, str], dict[str, Any]] = {
    ("", "Pod"): {"spec": _POD_SPEC_ZERO, "status": {}},
    ("", "Service"): {"spec": {}, "status": {"loadBalancer": {}}},
    ("", "Event"): {
        "involvedObject": {},
        "source": {},
        "firstTimestamp": None,
        "lastTimestamp": None,
        "eventTime": None,
    },
    ("", "Namespace"): {"spec": {}, "status": {}},
    ("", "Node"): {
        "spec": {},
        "status": {"daemonEndpoints": {"kubeletEndpoint": {}}, "nodeInfo": {}},
    },
    ("", "ReplicationController"): {"spec": {}, "status": {}},
    ("apps", "Deployment"): {
        "spec": {"template": _TEMPLATE_ZERO, "strategy": {}},
        "status": {},
    },
    ("apps", "ReplicaSet"): {"spec": {"template": _TEMPLATE_ZERO}, "status": {}},
    ("coordination.k8s.io", "Lease"): {"spec": {}},
    ("discovery.k8s.io", "EndpointSlice"): {"endpoints": None, "ports": None},
    ("events.k8s.io", "Event"): {
        "eventTime": None,
        "regarding": {},
        "deprecatedSource": {},
        "deprecatedFirstTimestamp": None,
        "deprecatedLastTimestamp": None,
    },
    ("networking.k8s.io", "NetworkPolicy"): {"spec": {"podSelector": {}}},
    ("autoscaling", "Scale"): {"spec": {}, "status": {}},
}


def zero_object(group: str, kind: str) -> dict[str, Any]:
    """Go's zero value of the kind as the apiserver's converter renders it (a fresh copy)."""
    body = copy.deepcopy(ZERO.get((group, kind), {}))
    return {"metadata": dict(_META_ZERO), **body}


_WITH_STATUS = frozenset(
    {
        ("", "Pod"),
        ("", "Service"),
        ("", "Namespace"),
        ("", "Node"),
        ("", "ReplicationController"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
    }
)
_STATUS_RESET: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("", "Pod"): (("spec",), ("metadata", "deletionTimestamp"), ("metadata", "ownerReferences")),
    ("apps", "Deployment"): (("spec",), ("metadata", "labels")),
    ("apps", "ReplicaSet"): (("spec",), ("metadata", "labels")),
}


def reset_fields(group: str, kind: str, subresource: str) -> tuple[tuple[str, ...], ...]:
    """Paths an endpoint resets to their old values, so nobody owns them through it."""
    if subresource == "status":
        return _STATUS_RESET.get((group, kind), (("spec",),))
    if subresource == "" and (group, kind) in _WITH_STATUS:
        return (("status",),)
    return ()
