"""Pod volumes as host directories, and each container's mounts of them.

Every volume becomes a directory under ``<root>/pods/<uid>/volumes/<plugin>/<name>``
(``hostPath`` is the host path itself), which the runtime bind-mounts where the
container's ``volumeMounts`` say. ConfigMap, Secret, downward API and projected volumes
are written the way the kubelet's ``AtomicWriter`` does (files behind a ``..data``
symlink swapped in one rename), so a later sync can refresh them without a reader ever
seeing half a payload. A ``medium: Memory`` emptyDir is a tmpfs when this process may
mount one, else a plain directory (``sizeLimit`` is not enforced).

Failures raise ``VolumeError`` with the volume plugin's own text; the caller reports
``FailedMount`` ``MountVolume.SetUp failed for volume "<name>" : <text>`` and the pod stays
``ContainerCreating``, as on a real node. Projected ``serviceAccountToken`` sources get a
placeholder file: kubeproc issues no service account tokens yet.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import logging
import os
import shutil
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubeproc.kubelet.envvars import ConfigSources, EnvError, expand, field_value, resource_value
from kubeproc.kubelet.runtime.types import Mount

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_PLACEHOLDER = (
    "kubeproc-placeholder-token: kubeproc does not issue service account tokens yet\n"
)
_DEFAULT_MODE = 0o644
_READ_ONLY_KINDS = ("configMap", "secret", "downwardAPI", "projected")


class VolumeError(Exception):
    def __init__(self, volume: str, message: str) -> None:
        super().__init__(message)
        self.volume = volume
        self.message = message

    @property
    def event_message(self) -> str:
        return f'MountVolume.SetUp failed for volume "{self.volume}" : {self.message}'


class MountError(Exception):
    """A container's volumeMount cannot be made (subPath outside its volume, …)."""


Payload = dict[str, tuple[bytes, int]]


def _mode(value: Any, default: int) -> int:
    return int(value) if isinstance(value, int) else default


def _items_payload(
    data: Mapping[str, bytes],
    items: list[dict[str, Any]] | None,
    default_mode: int,
    optional: bool,
    missing: str,
) -> Payload:
    """``MakePayload``: all keys, or the listed items with their paths and modes."""
    if not items:
        return {key: (value, default_mode) for key, value in data.items()}
    payload: Payload = {}
    for item in items:
        key = item.get("key", "")
        if key not in data:
            if optional:
                continue
            raise ValueError(f"{missing}: {key}")
        payload[item.get("path") or key] = (data[key], _mode(item.get("mode"), default_mode))
    return payload


def _config_map_bytes(obj: dict[str, Any]) -> dict[str, bytes]:
    out = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
    out.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    return out


def _secret_bytes(obj: dict[str, Any]) -> dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}


def write_atomic(target: Path, payload: Payload, now: dt.datetime) -> bool:
    """Write ``payload`` under ``target`` as AtomicWriter does; False when nothing changed."""
    target.mkdir(parents=True, exist_ok=True)
    data_link = target / "..data"
    if data_link.is_symlink() and _current(target / data_link.readlink()) == payload:
        return False
    stamp = now.strftime("..%Y_%m_%d_%H_%M_%S.%f")
    fresh = target / stamp
    fresh.mkdir()
    for rel, (content, mode) in payload.items():
        path = fresh / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(mode)
    tmp_link = target / "..data_tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp_link.unlink()
    tmp_link.symlink_to(stamp)
    previous = str(data_link.readlink()) if data_link.is_symlink() else None
    tmp_link.replace(data_link)
    tops = {rel.split("/", 1)[0] for rel in payload}
    for entry in target.iterdir():
        if entry.name.startswith(".."):
            continue
        if entry.name not in tops and entry.is_symlink():
            entry.unlink()
    for top in tops:
        link = target / top
        if not link.is_symlink():
            link.symlink_to(f"..data/{top}")
    if previous and previous != stamp:
        shutil.rmtree(target / previous, ignore_errors=True)
    return True


def _current(data_dir: Path) -> Payload | None:
    if not data_dir.is_dir():
        return None
    out: Payload = {}
    for path in data_dir.rglob("*"):
        if path.is_file():
            out[str(path.relative_to(data_dir))] = (
                path.read_bytes(),
                stat.S_IMODE(path.stat().st_mode),
            )
    return out


def _check_host_path(path: str, kind: str) -> None:
    """The ``hostPath.type`` checks, creating what the ``*OrCreate`` types ask for."""
    p = Path(path)
    if kind == "DirectoryOrCreate":
        if not p.exists():
            p.mkdir(mode=0o755, parents=True)
        kind = "Directory"
    elif kind == "FileOrCreate":
        if not p.exists():
            p.touch(mode=0o644)
        kind = "File"
    checks = {
        "Directory": (p.is_dir, "is not a directory"),
        "File": (p.is_file, "is not a file"),
        "Socket": (p.is_socket, "is not a socket file"),
        "CharDevice": (p.is_char_device, "is not a character device"),
        "BlockDevice": (p.is_block_device, "is not a block device"),
    }
    if kind in checks:
        check, text = checks[kind]
        if not p.exists():
            raise ValueError(f"hostPath type check failed: {path} {text}")
        if not check():
            raise ValueError(f"hostPath type check failed: {path} {text}")


class VolumeManager:
    """Sets up and tears down the volumes of the pods on this node."""

    def __init__(
        self,
        root: Path,
        sources: ConfigSources,
        *,
        host_ip: str = "127.0.0.1",
        allocatable: Mapping[str, str] | None = None,
        can_mount: bool | None = None,
    ) -> None:
        self.root = root
        self.sources = sources
        self.host_ip = host_ip
        self.allocatable = dict(allocatable or {})
        self.can_mount = (
            can_mount
            if can_mount is not None
            else os.geteuid() == 0 and bool(shutil.which("mount"))
        )

    def volumes_dir(self, uid: str) -> Path:
        return self.root / uid / "volumes"

    async def setup(self, pod: dict[str, Any], now: dt.datetime) -> dict[str, tuple[str, bool]]:
        """Every volume of ``pod``: name → (host path, mounted read-only)."""
        uid = pod["metadata"]["uid"]
        out: dict[str, tuple[str, bool]] = {}
        for volume in pod["spec"].get("volumes") or []:
            name = volume.get("name", "")
            try:
                out[name] = await self._setup_one(pod, uid, volume, now)
            except (ValueError, EnvError, OSError) as err:
                text = err.message if isinstance(err, EnvError) else str(err)
                raise VolumeError(name, text) from err
        return out

    async def _setup_one(
        self, pod: dict[str, Any], uid: str, volume: dict[str, Any], now: dt.datetime
    ) -> tuple[str, bool]:
        name = volume["name"]
        base = self.volumes_dir(uid)
        if volume.get("hostPath") is not None:
            source = volume["hostPath"]
            _check_host_path(source.get("path", ""), source.get("type") or "")
            return source.get("path", ""), False
        if volume.get("emptyDir") is not None:
            target = base / "kubernetes.io~empty-dir" / name
            fresh = not target.exists()
            target.mkdir(parents=True, exist_ok=True)
            if fresh:
                target.chmod(0o777)
            if volume["emptyDir"].get("medium") == "Memory" and self.can_mount:
                await _mount_tmpfs(target)
            return str(target), False
        kind = next((k for k in _READ_ONLY_KINDS if volume.get(k) is not None), None)
        if kind is None:
            raise ValueError(f"volume type of {name} is not supported by kubeproc")
        plugin = {
            "configMap": "configmap",
            "secret": "secret",
            "downwardAPI": "downward-api",
            "projected": "projected",
        }[kind]
        target = base / f"kubernetes.io~{plugin}" / name
        payload = await self._payload(pod, kind, volume[kind])
        write_atomic(target, payload, now)
        return str(target), True

    async def _payload(self, pod: dict[str, Any], kind: str, source: dict[str, Any]) -> Payload:
        namespace = pod["metadata"].get("namespace", "")
        default = _mode(source.get("defaultMode"), _DEFAULT_MODE)
        if kind == "configMap":
            return await self._config_map(namespace, source, default)
        if kind == "secret":
            return await self._secret(namespace, source, default)
        if kind == "downwardAPI":
            return self._downward(pod, source.get("items") or [], default)
        payload: Payload = {}
        errors: list[str] = []
        for projection in source.get("sources") or []:
            try:
                payload.update(await self._projection(pod, projection, default))
            except (ValueError, EnvError) as err:
                errors.append(err.message if isinstance(err, EnvError) else str(err))
        if errors:
            raise ValueError(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
        return payload

    async def _projection(
        self, pod: dict[str, Any], projection: dict[str, Any], default: int
    ) -> Payload:
        namespace = pod["metadata"].get("namespace", "")
        if projection.get("configMap") is not None:
            return await self._config_map(namespace, projection["configMap"], default)
        if projection.get("secret") is not None:
            return await self._secret(namespace, projection["secret"], default)
        if projection.get("downwardAPI") is not None:
            return self._downward(pod, projection["downwardAPI"].get("items") or [], default)
        token = projection.get("serviceAccountToken")
        if token is not None:
            return {
                token.get("path", "token"): (
                    SERVICE_ACCOUNT_PLACEHOLDER.encode(),
                    0o600 if default == _DEFAULT_MODE else default,
                )
            }
        return {}

    async def _config_map(self, namespace: str, source: dict[str, Any], default: int) -> Payload:
        name = source.get("name", "")
        optional = bool(source.get("optional"))
        obj = await self.sources.config_map(namespace, name)
        if obj is None:
            if optional:
                return {}
            raise ValueError(f'configmap "{name}" not found')
        return _items_payload(
            _config_map_bytes(obj),
            source.get("items"),
            default,
            optional,
            "configmap references non-existent config key",
        )

    async def _secret(self, namespace: str, source: dict[str, Any], default: int) -> Payload:
        name = source.get("secretName") or source.get("name", "")
        optional = bool(source.get("optional"))
        obj = await self.sources.secret(namespace, name)
        if obj is None:
            if optional:
                return {}
            raise ValueError(f'secret "{name}" not found')
        return _items_payload(
            _secret_bytes(obj),
            source.get("items"),
            default,
            optional,
            "references non-existent secret key",
        )

    def _downward(self, pod: dict[str, Any], items: list[dict[str, Any]], default: int) -> Payload:
        payload: Payload = {}
        for item in items:
            mode = _mode(item.get("mode"), default)
            if item.get("fieldRef") is not None:
                text = field_value(
                    pod, item["fieldRef"].get("fieldPath", ""), pod_ips=[], host_ip=self.host_ip
                )
            elif item.get("resourceFieldRef") is not None:
                ref = item["resourceFieldRef"]
                container: dict[str, Any] = next(
                    (
                        c
                        for c in pod["spec"].get("containers", [])
                        if c.get("name") == ref.get("containerName")
                    ),
                    {},
                )
                text = resource_value(ref, pod, container, self.allocatable)
            else:
                continue
            payload[item.get("path", "")] = (text.encode(), mode)
        return payload

    async def teardown(self, uid: str) -> None:
        """Unmount what this pod mounted and remove its volume directories."""
        base = self.volumes_dir(uid)
        for mountpoint in _mounts_under(base):
            await _run("umount", "-l", mountpoint)
        shutil.rmtree(base, ignore_errors=True)


def container_mounts(
    container: dict[str, Any], volumes: Mapping[str, tuple[str, bool]], env: Mapping[str, str]
) -> list[Mount]:
    """``makeMounts``: each volumeMount as a bind mount, subPath resolved inside its volume."""
    mounts = []
    for vm in container.get("volumeMounts") or []:
        source = volumes.get(vm.get("name", ""))
        if source is None:
            raise MountError(
                f'cannot find volume "{vm.get("name")}" to mount into container '
                f'"{container.get("name")}"'
            )
        host, read_only = source
        sub = vm.get("subPath") or ""
        if vm.get("subPathExpr"):
            sub = expand(vm["subPathExpr"], env)
        if sub:
            base = Path(host).resolve()
            joined = (base / sub).resolve()
            if joined != base and base not in joined.parents:
                raise MountError(f"subPath {sub!r} escapes volume {vm.get('name')!r}")
            if not joined.exists():
                joined.mkdir(parents=True, mode=0o755)
            host = str(joined)
        mounts.append(Mount(host, vm.get("mountPath", ""), bool(vm.get("readOnly")) or read_only))
    return mounts


def _mounts_under(base: Path) -> list[str]:
    prefix = str(base.resolve()) + "/"
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split()
            if len(fields) > 4 and fields[4].startswith(prefix):
                found.append(fields[4])
    return sorted(found, reverse=True)


def _is_mounted(target: Path) -> bool:
    return str(target.resolve()) in _mounts_under(target.parent)


async def _mount_tmpfs(target: Path) -> None:
    if _is_mounted(target):
        return
    code = await _run("mount", "-t", "tmpfs", "-o", "mode=0777", "tmpfs", str(target))
    if code != 0:
        log.warning("tmpfs mount failed, using a plain directory path=%s", target)


async def _run(*argv: str) -> int:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await proc.wait()
