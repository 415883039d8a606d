"""A container's bundle on disk: its directories, its mount plan's skeletons, config.json.

The thin I/O around the pure decisions of ``fsview`` (the filesystem view) and ``bundle``
(the OCI spec): it looks at the host (volume sources, the user's passwd entry, kubeproc's
own capability bounding set), creates what the plan refers to, and writes the spec.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from kubeproc.kubelet.runtime.oci import bundle, fsview, podfiles
from kubeproc.kubelet.runtime.oci.cgroups import Cgroups
from kubeproc.kubelet.runtime.oci.layout import Layout
from kubeproc.kubelet.runtime.oci.network import NETNS_DIR
from kubeproc.kubelet.runtime.oci.state import ContainerRecord, SandboxRecord, write_json
from kubeproc.kubelet.runtime.types import ContainerConfig, CreateContainerError


def write_bundle(
    layout: Layout,
    cgroups: Cgroups,
    *,
    sandbox: SandboxRecord,
    config: ContainerConfig,
    record: ContainerRecord,
    directory: Path,
) -> dict[str, Any]:
    """Plan the filesystem, make its directories, write config.json; returns the spec."""
    host = fsview.HostRoot()
    kinds = {m.host_path: host.kind(m.host_path) for m in config.mounts}
    for source, kind in kinds.items():
        if kind is fsview.Kind.MISSING:
            raise CreateContainerError(f"mount source {source}: no such file or directory")
    user = _user(config)
    paths = fsview.Paths(
        tmp_dir=str(directory / "tmp"),
        work_dir=str(directory / "work" / "dir"),
        work_upper=str(directory / "work" / "upper"),
        work_scratch=str(directory / "work" / "scratch"),
        skeleton_dir=str(layout.skeleton_root / record.id),
        container_dir=str(directory),
    )
    plan = fsview.plan(
        host,
        paths,
        pod_files=podfiles.paths(layout.sandbox_dir(sandbox.id)),
        volumes=config.mounts,
        volume_kinds=kinds,
        working_dir=config.working_dir,
        read_only_root=config.security.read_only_root_filesystem,
        privileged=config.security.privileged,
    )
    fsview.materialize(plan, paths, owner=(user.uid, user.gid))
    for sub in ("rootfs", "persist"):
        (directory / sub).mkdir()
    Path(record.log_path).parent.mkdir(parents=True, exist_ok=True)
    spec = bundle.render(
        config,
        user=user,
        hostname=sandbox.hostname,
        rootfs=str(directory / "rootfs"),
        netns_path=str(NETNS_DIR / sandbox.netns),
        cgroups_path=record.cgroups_path,
        mounts=plan.mounts,
        memsw=cgroups.memsw_supported(),
        annotations=bundle.label_annotations(record.labels, sandbox.id),
        grantable=bundle.bounding_set(Path("/proc/self/status").read_text()),
    )
    write_json(directory / "config.json", spec)
    return spec


def _user(config: ContainerConfig) -> bundle.User:
    security = config.security
    uid = security.run_as_user if security.run_as_user is not None else 0
    gid, home = 0, "/"
    with contextlib.suppress(OSError):
        for line in Path("/etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if len(fields) >= 6 and fields[2] == str(uid):
                gid, home = int(fields[3]), fields[5] or "/"
                break
    if security.run_as_group is not None:
        gid = security.run_as_group
    return bundle.User(
        uid=uid, gid=gid, additional_gids=tuple(security.supplemental_groups), home=home
    )
