"""A container's filesystem view without an image: the host's, read-only, plus its own bits.

The root is a small tmpfs holding one recursive, recursively read-only (``rro``,
``mount_setattr``) bind of each top-level entry of the host's ``/``, so every host mount
below (``/home``, ``/boot``...) is there and none is writable. Left out and replaced:
``/proc``, ``/dev``, ``/sys`` (the usual OCI mounts), ``/run`` (an empty tmpfs: the
host's sockets and its ``/run/netns`` stay out; ``/var/run`` points there) and ``/tmp``
(a per-container directory). Then, deepest last: the pod's ``/etc/hostname``, ``hosts``
and ``resolv.conf``, the volumes, and the working directory.

A mount point that does not exist on the host cannot be created in a read-only tree, so
the planner finds the deepest existing ancestor ``D`` and mounts a read-only overlay at
``D``: the host's ``D`` under a small skeleton holding the missing path. The skeleton
lives on /dev/shm, a different filesystem, because overlayfs refuses a lower layer
inside another (``D`` may well contain kubeproc's state dir). Host mounts below ``D``
are hidden by that overlay: the one known blind spot.

A working directory that exists on the host becomes writable through an overlay (the
host's directory under a per-container upper dir), so ``workingDir`` can point at a
project checkout; one that does not exist is an empty per-container directory.

``readOnlyRootFilesystem`` (the root is read-only either way) follows Kubernetes: only
volumes stay writable, so /tmp, the working directory and the pod's /etc files are
mounted read-only too. The host binds are ``rprivate``: a host mount made after the
container started is not seen in it (one propagated in would not be read-only).

``plan`` is pure: the host is seen through ``HostFS``, so the rules are table-tested;
``HostRoot`` and ``materialize`` are the thin I/O around it.
"""

from __future__ import annotations

import os
import posixpath
import stat
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from kubeproc.kubelet.runtime.types import CreateContainerError, Mount

REPLACED_TOP_LEVEL = frozenset({"proc", "sys", "dev", "tmp", "run"})
MAX_SYMLINKS = 40


class Kind(StrEnum):
    DIR = "dir"
    FILE = "file"
    MISSING = "missing"


class HostFS(Protocol):
    def kind(self, path: str) -> Kind:
        """What the path is, following symlinks."""

    def readlink(self, path: str) -> str | None:
        """The target if the path (not following a final symlink) is a symlink."""

    def root_entries(self) -> list[str]: ...


class Region(StrEnum):
    """Who provides the files below a mount: what a new mount point there needs."""

    WRITABLE = "writable"  # runc can create the mount point (tmpfs, our dirs, rw volumes)
    HOST = "host"  # a read-only view of a host path: the mount point must exist there
    SPECIAL = "special"  # /proc, /sys...: left to runc


@dataclass
class _Provider:
    destination: str
    region: Region
    source: str = ""
    skeleton: int | None = None
    """For an overlay planned here: the index of its skeleton in ``Plan.skeletons``."""


@dataclass(frozen=True)
class Request:
    destination: str
    source: str
    read_only: bool
    volume: bool = True


@dataclass
class Plan:
    mounts: list[dict[str, Any]] = field(default_factory=list)
    skeletons: list[list[tuple[str, Kind]]] = field(default_factory=list)
    """Per overlay: the relative paths to create in its skeleton dir, parents first."""
    work_overlay: bool = False
    """The working directory is an overlay over the host's: create upper/ and work/."""


@dataclass(frozen=True)
class Paths:
    """Per-container host paths the plan refers to."""

    tmp_dir: str
    work_dir: str
    work_upper: str
    work_scratch: str
    skeleton_dir: str
    container_dir: str


def _bind(dest: str, source: str, *, read_only: bool, recursive_ro: bool = False) -> dict[str, Any]:
    mode = "rro" if recursive_ro else ("ro" if read_only else "rw")
    return {
        "destination": dest,
        "type": "bind",
        "source": source,
        "options": ["rbind", mode, "rprivate"],
    }


def _base_mounts(privileged: bool) -> list[tuple[dict[str, Any], Region]]:
    ro = [] if privileged else ["ro"]
    dev: dict[str, Any] = (
        _bind("/dev", "/dev", read_only=False)
        if privileged
        else {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        }
    )
    return [
        ({"destination": "/proc", "type": "proc", "source": "proc"}, Region.SPECIAL),
        (dev, Region.WRITABLE),
        (
            {
                "destination": "/dev/pts",
                "type": "devpts",
                "source": "devpts",
                "options": [
                    "nosuid",
                    "noexec",
                    "newinstance",
                    "ptmxmode=0666",
                    "mode=0620",
                    "gid=5",
                ],
            },
            Region.SPECIAL,
        ),
        (
            {
                "destination": "/dev/shm",  # noqa: S108 (the container's own)
                "type": "tmpfs",
                "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            },
            Region.WRITABLE,
        ),
        (
            {
                "destination": "/dev/mqueue",
                "type": "mqueue",
                "source": "mqueue",
                "options": ["nosuid", "noexec", "nodev"],
            },
            Region.SPECIAL,
        ),
        (
            {
                "destination": "/sys",
                "type": "sysfs",
                "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", *ro],
            },
            Region.SPECIAL,
        ),
        (
            {
                "destination": "/sys/fs/cgroup",
                "type": "cgroup",
                "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", *ro],
            },
            Region.SPECIAL,
        ),
        (
            {
                "destination": "/run",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "nodev", "mode=755", "size=65536k"],
            },
            Region.WRITABLE,
        ),
    ]


class _Planner:
    def __init__(self, host: HostFS, paths: Paths) -> None:
        self.host = host
        self.paths = paths
        self.plan = Plan()
        self.providers: list[_Provider] = []

    def add(self, mount: dict[str, Any], region: Region, source: str = "") -> None:
        self.plan.mounts.append(mount)
        self.providers.append(_Provider(mount["destination"], region, source))

    def provider(self, path: str, *, strict: bool) -> _Provider:
        """The last mount whose destination is an ancestor of (or, if not strict, equals) path."""
        for candidate in reversed(self.providers):
            dest = candidate.destination
            if dest == "/" or path.startswith(dest + "/") or (not strict and path == dest):
                return candidate
        raise AssertionError("the root mount provides everything")

    def host_path(self, provider: _Provider, path: str) -> str:
        rel = posixpath.relpath(path, provider.destination)
        return posixpath.normpath(posixpath.join(provider.source, rel))

    def resolve(self, path: str) -> str:
        """Resolve symlinks in path as runc will see them, within host-backed regions."""
        parts = [p for p in posixpath.normpath(path).split("/") if p]
        resolved, hops = "/", 0
        while parts:
            candidate = posixpath.join(resolved, parts.pop(0))
            if any(p.destination == candidate for p in self.providers):
                resolved = candidate
                continue
            provider = self.provider(candidate, strict=True)
            target = None
            if provider.region is Region.HOST:
                target = self.host.readlink(self.host_path(provider, candidate))
            if target is None:
                resolved = candidate
                continue
            hops += 1
            if hops > MAX_SYMLINKS:
                raise CreateContainerError(f"mount point {path}: too many levels of symlinks")
            base = "/" if target.startswith("/") else resolved
            parts = [
                p for p in posixpath.normpath(posixpath.join(base, target)).split("/") if p
            ] + parts
            resolved = "/"
        return resolved

    def ensure_mount_point(self, dest: str, kind: Kind) -> None:
        """Make sure runc will find (or be able to create) dest; plan an overlay if not."""
        provider = self.provider(dest, strict=True)
        if provider.region is not Region.HOST:
            return
        host_dest = self.host_path(provider, dest)
        found = self.host.kind(host_dest)
        if found is kind:
            return
        if found is not Kind.MISSING:
            raise CreateContainerError(f"mount point {dest} is a {found}, the volume a {kind}")
        if provider.skeleton is not None:  # an overlay we planned: grow its skeleton
            self._skeleton_add(
                provider.skeleton, posixpath.relpath(dest, provider.destination), kind
            )
            return
        anchor = dest
        while True:
            anchor = posixpath.dirname(anchor)
            if (
                anchor == provider.destination
                or self.host.kind(self.host_path(provider, anchor)) is Kind.DIR
            ):
                break
        lower = self.host_path(provider, anchor)
        index = len(self.plan.skeletons)
        skeleton = posixpath.join(self.paths.skeleton_dir, str(index))
        if any(c in lower for c in ",:="):
            raise CreateContainerError(f"cannot create mount point {dest} below {lower}")
        self.plan.skeletons.append([])
        self._skeleton_add(index, posixpath.relpath(dest, anchor), kind)
        self.plan.mounts.append(
            {
                "destination": anchor,
                "type": "overlay",
                "source": "overlay",
                "options": [f"lowerdir={skeleton}:{lower}"],
            }
        )
        self.providers.append(_Provider(anchor, Region.HOST, lower, skeleton=index))

    def _skeleton_add(self, index: int, rel: str, kind: Kind) -> None:
        entries = self.plan.skeletons[index]
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            entry = ("/".join(parts[:depth]), Kind.DIR)
            if entry not in entries:
                entries.append(entry)
        if (rel, kind) not in entries:
            entries.append((rel, kind))

    def request(self, req: Request, source_kind: Kind) -> None:
        dest = self.resolve(req.destination)
        self.ensure_mount_point(dest, source_kind)
        self.add(
            _bind(dest, req.source, read_only=req.read_only),
            Region.HOST if req.read_only else Region.WRITABLE,
            req.source,
        )

    def working_dir(self, cwd: str, *, read_only: bool) -> None:
        dest = self.resolve(cwd)
        provider = self.provider(dest, strict=False)
        if provider.region is Region.WRITABLE and provider.destination == dest:
            return  # already a per-container directory (/tmp, say)
        host = self.host_path(provider, dest) if provider.region is Region.HOST else ""
        if host and self.host.kind(host) is Kind.DIR:
            if read_only:
                return  # the host's directory, read-only like the rest
            if not _overlaps(host, self.paths.container_dir):
                self.plan.work_overlay = True
                options = (
                    f"lowerdir={host},upperdir={self.paths.work_upper},"
                    f"workdir={self.paths.work_scratch}"
                )
                if not any(c in host for c in ",:="):
                    self.add(
                        {
                            "destination": dest,
                            "type": "overlay",
                            "source": "overlay",
                            "options": [options],
                        },
                        Region.WRITABLE,
                    )
                    return
        self.ensure_mount_point(dest, Kind.DIR)
        self.add(_bind(dest, self.paths.work_dir, read_only=read_only), Region.WRITABLE)


def _overlaps(a: str, b: str) -> bool:
    a, b = a.rstrip("/") + "/", b.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)


def _depth(path: str) -> int:
    return len([p for p in posixpath.normpath(path).split("/") if p])


def plan(
    host: HostFS,
    paths: Paths,
    *,
    pod_files: dict[str, str],
    volumes: tuple[Mount, ...],
    volume_kinds: dict[str, Kind],
    working_dir: str,
    read_only_root: bool,
    privileged: bool = False,
) -> Plan:
    """The mounts of a container, in order, and the skeletons they need (pure).

    ``pod_files`` maps /etc/hostname, /etc/hosts and /etc/resolv.conf to the pod's files;
    ``volume_kinds`` says whether each volume's host path is a file or a directory.
    """
    planner = _Planner(host, paths)
    planner.add(
        {
            "destination": "/",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["mode=755", "size=1m"],
        },
        Region.WRITABLE,
    )
    for entry in sorted(host.root_entries()):
        source = "/" + entry
        kind = host.kind(source)
        if entry in REPLACED_TOP_LEVEL or kind is Kind.MISSING:
            continue
        planner.add(_bind(source, source, read_only=True, recursive_ro=True), Region.HOST, source)
    for mount, region in _base_mounts(privileged):
        planner.add(mount, region)
    covered = {posixpath.normpath(v.container_path) for v in volumes}
    if "/tmp" not in covered:  # noqa: S108 (the container's own /tmp)
        planner.add(_bind("/tmp", paths.tmp_dir, read_only=read_only_root), Region.WRITABLE)  # noqa: S108
    requests = [
        (Request(dest, source, read_only=read_only_root, volume=False), Kind.FILE)
        for dest, source in pod_files.items()
        if dest not in covered
    ]
    requests += [
        (Request(v.container_path, v.host_path, v.read_only), volume_kinds[v.host_path])
        for v in volumes
    ]
    for req, kind in sorted(requests, key=lambda r: _depth(r[0].destination)):
        planner.request(req, kind)
    cwd = posixpath.normpath(working_dir or "/")
    in_volume = any(cwd == c or cwd.startswith(c.rstrip("/") + "/") for c in covered)
    if cwd != "/" and not in_volume:
        planner.working_dir(cwd, read_only=read_only_root)
    return planner.plan


class HostRoot:
    """The real host filesystem, as ``plan`` sees it."""

    def kind(self, path: str) -> Kind:
        try:
            mode = Path(path).stat().st_mode
        except OSError:
            return Kind.MISSING
        return Kind.DIR if stat.S_ISDIR(mode) else Kind.FILE

    def readlink(self, path: str) -> str | None:
        try:
            return str(Path(path).readlink())
        except OSError:
            return None

    def root_entries(self) -> list[str]:
        return [entry.name for entry in Path("/").iterdir()]


def materialize(plan: Plan, paths: Paths, *, owner: tuple[int, int]) -> None:
    """Create the directories a plan refers to: skeletons, /tmp, the working directory."""
    for index, entries in enumerate(plan.skeletons):
        base = Path(paths.skeleton_dir, str(index))
        base.mkdir(parents=True, exist_ok=True)
        for rel, kind in entries:
            target = base / rel
            if kind is Kind.DIR:
                target.mkdir(exist_ok=True)
            else:
                target.touch()
    tmp = Path(paths.tmp_dir)
    tmp.mkdir(parents=True, exist_ok=True)
    tmp.chmod(0o1777)
    for directory in (paths.work_dir, paths.work_upper, paths.work_scratch):
        Path(directory).mkdir(parents=True, exist_ok=True)
    uid, gid = owner
    if (uid, gid) != (0, 0):
        for directory in (paths.work_dir, paths.work_upper):
            os.chown(directory, uid, gid)
