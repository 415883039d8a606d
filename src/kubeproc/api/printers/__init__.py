"""Server-side Table printing: what ``kubectl get`` shows, computed by the API server.

kubectl has no client-side printers for built-in kinds any more; it asks for
``as=Table`` and prints the cells it gets. So the strings built here (pod STATUS, AGE,
``3 (2m ago)``, ``80:30080/TCP``) are what users see. Modules follow kube-apiserver's
``pkg/printers/internalversion/printers.go``: ``pods``, ``workloads``, ``services``,
``events`` and ``misc`` hold one kind's row each, ``age`` the duration format, ``columns``
the shared pieces, and ``table`` the registry and the Table body. Pure: ``now`` is passed in.
"""

from kubeproc.api.printers.age import human_duration, translate_timestamp_since
from kubeproc.api.printers.columns import Column
from kubeproc.api.printers.table import columns, row_cells, table

__all__ = [
    "Column",
    "columns",
    "human_duration",
    "row_cells",
    "table",
    "translate_timestamp_since",
]
