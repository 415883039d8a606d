"""Pod volumes become host directories with the right files, modes and failure messages."""

from __future__ import annotations

import base64
import datetime as dt
import stat
from pathlib import Path
from typing import Any

import pytest

from kubeproc.kubelet.runtime.types import Mount
from kubeproc.kubelet.volumes import (
    SERVICE_ACCOUNT_PLACEHOLDER,
    MountError,
    VolumeError,
    VolumeManager,
    container_mounts,
    write_atomic,
)

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Sources:
    def __init__(self) -> None:
        self.maps: dict[str, dict[str, Any]] = {
            "cfg": {
                "data": {"app.conf": "port=80\n", "mode": "fast"},
                "binaryData": {"logo": base64.b64encode(b"\x89PNG").decode()},
            }
        }
        self.secrets: dict[str, dict[str, Any]] = {
            "creds": {"data": {"user": base64.b64encode(b"admin").decode()}}
        }

    async def config_map(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.maps.get(name)

    async def secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.secrets.get(name)


def pod(*volumes: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "default", "uid": "u1", "labels": {"app": "x"}},
        "spec": {
            "volumes": list(volumes),
            "containers": [{"name": "app", "resources": {"limits": {"memory": "32Mi"}}}],
        },
    }


def manager(tmp_path: Path, sources: Sources | None = None) -> VolumeManager:
    return VolumeManager(tmp_path / "pods", sources or Sources(), can_mount=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def dir_mode(path: Path) -> int | None:
    """The permission bits of a directory; None if ``path`` is not one."""
    return mode(path) if path.is_dir() else None


def visible(path: Path) -> list[str]:
    """Entries of a volume directory, without the AtomicWriter's ``..`` bookkeeping."""
    return sorted(p.name for p in path.iterdir() if not p.name.startswith(".."))


async def test_config_map_all_keys_and_items(tmp_path: Path) -> None:
    """All keys by default (binaryData decoded); items pick keys, rename them and set modes."""
    vm = manager(tmp_path)
    volumes = await vm.setup(
        pod(
            {"name": "all", "configMap": {"name": "cfg", "defaultMode": 0o600}},
            {
                "name": "some",
                "configMap": {
                    "name": "cfg",
                    "items": [{"key": "mode", "path": "sub/m.txt", "mode": 0o400}],
                },
            },
        ),
        NOW,
    )
    all_dir = Path(volumes["all"][0])
    assert volumes["all"][1] is True  # configMap volumes are mounted read-only
    assert (all_dir / "app.conf").read_text() == "port=80\n"
    assert (all_dir / "logo").read_bytes() == b"\x89PNG"
    assert mode((all_dir / "app.conf").resolve()) == 0o600
    assert (all_dir / "app.conf").is_symlink()  # AtomicWriter layout: key -> ..data/key
    some = Path(volumes["some"][0])
    assert (some / "sub" / "m.txt").read_text() == "fast"
    assert mode((some / "sub" / "m.txt").resolve()) == 0o400
    assert not (some / "app.conf").exists()


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        (
            {"name": "v", "configMap": {"name": "missing"}},
            'MountVolume.SetUp failed for volume "v" : configmap "missing" not found',
        ),
        (
            {"name": "v", "configMap": {"name": "cfg", "items": [{"key": "nope", "path": "x"}]}},
            'MountVolume.SetUp failed for volume "v" : configmap references non-existent config key: nope',
        ),
        (
            {"name": "v", "secret": {"secretName": "missing"}},
            'MountVolume.SetUp failed for volume "v" : secret "missing" not found',
        ),
        (
            {
                "name": "v",
                "secret": {"secretName": "creds", "items": [{"key": "pw", "path": "pw"}]},
            },
            'MountVolume.SetUp failed for volume "v" : references non-existent secret key: pw',
        ),
    ],
)
async def test_missing_objects_and_keys_fail_like_the_volume_plugins(
    tmp_path: Path, volume: dict[str, Any], message: str
) -> None:
    """FailedMount texts are the configmap and secret plugins' own."""
    with pytest.raises(VolumeError) as caught:
        await manager(tmp_path).setup(pod(volume), NOW)
    assert caught.value.event_message == message


async def test_optional_missing_object_gives_an_empty_volume(tmp_path: Path) -> None:
    """optional: true: an empty directory instead of a failure."""
    volumes = await manager(tmp_path).setup(
        pod({"name": "v", "configMap": {"name": "missing", "optional": True}}), NOW
    )
    assert visible(Path(volumes["v"][0])) == []


async def test_secret_downward_and_projected(tmp_path: Path) -> None:
    """Secrets decoded; downward API fields and limits; projected merges, token placeholder."""
    volumes = await manager(tmp_path).setup(
        pod(
            {"name": "s", "secret": {"secretName": "creds"}},
            {
                "name": "d",
                "downwardAPI": {
                    "items": [
                        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
                        {
                            "path": "mem",
                            "resourceFieldRef": {
                                "containerName": "app",
                                "resource": "limits.memory",
                                "divisor": "1Mi",
                            },
                        },
                    ]
                },
            },
            {
                "name": "proj",
                "projected": {
                    "sources": [
                        {"configMap": {"name": "cfg", "items": [{"key": "mode", "path": "mode"}]}},
                        {"serviceAccountToken": {"path": "token"}},
                    ]
                },
            },
        ),
        NOW,
    )
    assert (Path(volumes["s"][0]) / "user").read_text() == "admin"
    down = Path(volumes["d"][0])
    assert (down / "labels").read_text() == 'app="x"'
    assert (down / "name").read_text() == "p"
    assert (down / "mem").read_text() == "32"
    proj = Path(volumes["proj"][0])
    assert (proj / "mode").read_text() == "fast"
    assert (proj / "token").read_text() == SERVICE_ACCOUNT_PLACEHOLDER


async def test_host_path_types(tmp_path: Path) -> None:
    """DirectoryOrCreate creates; Directory must exist; a file is not a directory."""
    made = tmp_path / "made"
    a_file = tmp_path / "f"
    a_file.write_text("x")
    vm = manager(tmp_path)
    volumes = await vm.setup(
        pod({"name": "h", "hostPath": {"path": str(made), "type": "DirectoryOrCreate"}}), NOW
    )
    assert made.is_dir() and volumes["h"] == (str(made), False)
    with pytest.raises(VolumeError) as caught:
        await vm.setup(
            pod({"name": "h", "hostPath": {"path": str(a_file), "type": "Directory"}}), NOW
        )
    assert caught.value.message == f"hostPath type check failed: {a_file} is not a directory"


async def test_empty_dir_and_teardown(tmp_path: Path) -> None:
    """emptyDir is a world-writable directory under the pod; teardown removes it."""
    vm = manager(tmp_path)
    volumes = await vm.setup(pod({"name": "e", "emptyDir": {"medium": "Memory"}}), NOW)
    path = Path(volumes["e"][0])
    assert dir_mode(path) == 0o777
    assert path == tmp_path / "pods" / "u1" / "volumes" / "kubernetes.io~empty-dir" / "e"
    await vm.teardown("u1")
    assert not (tmp_path / "pods" / "u1" / "volumes").exists()


def test_atomic_writer_swaps_content_and_drops_stale_keys(tmp_path: Path) -> None:
    """A second payload replaces the first in one swap; removed keys disappear."""
    target = tmp_path / "v"
    assert write_atomic(target, {"a": (b"1", 0o644), "b": (b"2", 0o644)}, NOW)
    assert not write_atomic(target, {"a": (b"1", 0o644), "b": (b"2", 0o644)}, NOW)
    assert write_atomic(target, {"a": (b"3", 0o644)}, NOW + dt.timedelta(seconds=1))
    assert (target / "a").read_text() == "3"
    assert not (target / "b").exists()
    assert len([p for p in target.iterdir() if p.name.startswith("..2026")]) == 1


def test_container_mounts_sub_path_and_read_only(tmp_path: Path) -> None:
    """volumeMounts become bind mounts; subPath is created inside the volume; escapes refused."""
    data = tmp_path / "data"
    data.mkdir()
    volumes = {"data": (str(data), False), "cfg": (str(tmp_path / "cfg"), True)}
    container = {
        "name": "app",
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/app", "subPath": "app1"},
            {"name": "data", "mountPath": "/logs", "subPathExpr": "$(POD)/logs", "readOnly": True},
            {"name": "cfg", "mountPath": "/etc/app"},
        ],
    }
    mounts = container_mounts(container, volumes, {"POD": "p1"})
    assert mounts == [
        Mount(str(data / "app1"), "/var/lib/app", False),
        Mount(str(data / "p1" / "logs"), "/logs", True),
        Mount(str(tmp_path / "cfg"), "/etc/app", True),
    ]
    assert (data / "p1" / "logs").is_dir()
    with pytest.raises(MountError):
        container_mounts(
            {
                "name": "app",
                "volumeMounts": [{"name": "data", "mountPath": "/x", "subPath": "../.."}],
            },
            volumes,
            {},
        )
