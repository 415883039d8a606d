"""The Kubernetes version whose API behaviour kubeproc follows, fixed on purpose.

kubectl's version dispatcher picks the kubectl binary by the ``minor`` we report, so the
value is part of the wire contract (docs/decisions/0001-reported-version.md).
"""

from __future__ import annotations

KUBE_MAJOR = "1"
KUBE_MINOR = "33"
KUBE_GIT_VERSION = "v1.33.0+kubeproc"
KUBEPROC_VERSION = "0.1.0"


def version_info() -> dict[str, str]:
    """The body of ``GET /version``."""
    return {
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "gitVersion": KUBE_GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-11-21T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }
