"""k8s.io/apimachinery meta/v1 messages: ObjectMeta, LabelSelector, DeleteOptions and friends.

Owns the field numbers of ``pkg/apis/meta/v1/generated.proto`` that the served kinds reach,
in the notation of `schema`. Time, MicroTime and FieldsV1 are not messages here: they have
their own JSON forms and are the special types ``time``, ``microtime`` and ``rawjson``.
"""

from __future__ import annotations

from kubeproc.api.protobuf.schema import Message, parse_schema

__all__ = ["MESSAGES"]

MESSAGES: dict[str, Message] = parse_schema(
    """
Condition:
    1 type s!, 2 status s!, 3 observedGeneration l, 4 lastTransitionTime time!, 5 reason s!,
    6 message s!
DeleteOptions:
    1 gracePeriodSeconds l?, 2 preconditions Preconditions?, 3 orphanDependents b?,
    4 propagationPolicy s?, 5 dryRun [s],
    6 ignoreStoreReadErrorWithClusterBreakingPotential b?
LabelSelector:
    1 matchLabels {s}, 2 matchExpressions [LabelSelectorRequirement]
LabelSelectorRequirement:
    1 key s!, 2 operator s!, 3 values [s]
ManagedFieldsEntry:
    1 manager s, 2 operation s, 3 apiVersion s, 4 time time?, 6 fieldsType s,
    7 fieldsV1 rawjson?, 8 subresource s
ObjectMeta:
    1 name s, 2 generateName s, 3 namespace s, 4 selfLink s, 5 uid s, 6 resourceVersion s,
    7 generation l, 8 creationTimestamp time!, 9 deletionTimestamp time?,
    10 deletionGracePeriodSeconds l?, 11 labels {s}, 12 annotations {s},
    13 ownerReferences [OwnerReference], 14 finalizers [s],
    17 managedFields [ManagedFieldsEntry]
OwnerReference:
    1 kind s!, 3 name s!, 4 uid s!, 5 apiVersion s!, 6 controller b?,
    7 blockOwnerDeletion b?
Preconditions:
    1 uid s?, 2 resourceVersion s?
"""
)
