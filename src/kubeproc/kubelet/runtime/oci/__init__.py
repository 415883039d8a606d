"""The ``oci`` runtime: runc containers under conmon, CNI pod networking, cgroup limits.

``OciRuntime.create(state_dir, pod_cidr=..., bridge=..., netns_prefix=..., cgroup_parent=...)``
builds one; ``available()`` says whether this machine can (None) or why not.

Behind them: ``layout`` (every name), ``host`` (what the machine must have), ``network``
(netns + CNI), ``fsview``, ``bundle`` and ``prepare`` (a container's filesystem view, OCI
spec and bundle dir), ``conmon`` (runc under conmon), ``cgroups``, ``state`` (records and
statuses), ``exec`` (exec without ``runc exec``), ``proc`` (child processes).
"""

from kubeproc.kubelet.runtime.oci.host import available
from kubeproc.kubelet.runtime.oci.runtime import OciRuntime

__all__ = ["OciRuntime", "available"]
