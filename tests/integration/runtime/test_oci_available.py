"""Where the project's setup has run as root, the oci runtime is there: its tests must not skip.

The oci test modules skip when the runtime is unavailable (a developer without root). As
root, scripts/setup installs runc, conmon and the CNI plugins, so unavailability means the
setup is broken; this test fails then, instead of letting those modules skip silently.
"""

from __future__ import annotations

import os

from kubeproc.kubelet.runtime.oci import available


def test_oci_runtime_available_as_root() -> None:
    """Running as root, the oci runtime reports itself usable."""
    if os.geteuid() != 0:
        assert available() is not None, "without root the runtime must say why it cannot run"
        return
    assert available() is None, f"oci runtime unavailable as root: {available()}"
