"""The oci runtime's pure decisions, table-tested: mount plans, specs, names, statuses.

No root needed: these run everywhere, beside the real-container tests of the same runtime.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

import pytest

from kubeproc.kubelet.runtime.oci import bundle, fsview, podfiles
from kubeproc.kubelet.runtime.oci.cgroups import Cgroups
from kubeproc.kubelet.runtime.oci.conmon import runc_error
from kubeproc.kubelet.runtime.oci.exec import ExecTarget, Tools, exec_argv
from kubeproc.kubelet.runtime.oci.layout import Layout
from kubeproc.kubelet.runtime.oci.network import bridge_config, overlapping_routes
from kubeproc.kubelet.runtime.oci.state import ContainerRecord, ExitInfo, container_status
from kubeproc.kubelet.runtime.types import (
    ContainerConfig,
    ContainerPhase,
    CreateContainerError,
    Mount,
    Resources,
    Security,
)


class FakeHost:
    """A host filesystem as a table: path -> 'dir' | 'file' | '->target' (a symlink)."""

    def __init__(self, entries: dict[str, str]) -> None:
        self.entries = {"/": "dir", **entries}

    def _follow(self, path: str) -> str:
        parts = [p for p in path.split("/") if p]
        resolved = "/"
        for hops in range(40):
            if not parts:
                return resolved
            candidate = posixpath.join(resolved, parts.pop(0))
            entry = self.entries.get(candidate, "")
            if entry.startswith("->"):
                target = entry[2:]
                base = "/" if target.startswith("/") else resolved
                parts = [p for p in posixpath.join(base, target).split("/") if p] + parts
                resolved = "/"
            else:
                resolved = candidate
            assert hops < 39
        return resolved

    def kind(self, path: str) -> fsview.Kind:
        entry = self.entries.get(self._follow(path), "missing")
        return fsview.Kind(entry)

    def readlink(self, path: str) -> str | None:
        parent = self._follow(posixpath.dirname(path))
        entry = self.entries.get(posixpath.join(parent, posixpath.basename(path)), "")
        return entry[2:] if entry.startswith("->") else None

    def root_entries(self) -> list[str]:
        return [p[1:] for p in self.entries if p.count("/") == 1 and p != "/"]


HOST = FakeHost(
    {
        "/etc": "dir",
        "/etc/hosts": "file",
        "/etc/hostname": "file",
        "/etc/resolv.conf": "file",
        "/usr": "dir",
        "/usr/bin": "dir",
        "/bin": "->usr/bin",
        "/var": "dir",
        "/var/run": "->/run",
        "/srv": "dir",
        "/srv/app": "dir",
        "/proc": "dir",
        "/tmp": "dir",
        "/run": "dir",
        "/vol": "dir",
        "/vol/cm": "dir",
        "/vol/key": "file",
    }
)
PATHS = fsview.Paths(
    tmp_dir="/state/c/tmp",
    work_dir="/state/c/work/dir",
    work_upper="/state/c/work/upper",
    work_scratch="/state/c/work/scratch",
    skeleton_dir="/dev/shm/kp/c",
    container_dir="/state/c",
)
POD_FILES = {
    "/etc/hostname": "/s/hostname",
    "/etc/hosts": "/s/hosts",
    "/etc/resolv.conf": "/s/resolv",
}


def plan(*volumes: Mount, working_dir: str = "", read_only_root: bool = False) -> fsview.Plan:
    kinds = {v.host_path: HOST.kind(v.host_path) for v in volumes}
    return fsview.plan(
        HOST,
        PATHS,
        pod_files=POD_FILES,
        volumes=volumes,
        volume_kinds=kinds,
        working_dir=working_dir,
        read_only_root=read_only_root,
    )


def destinations(result: fsview.Plan) -> list[str]:
    return [m["destination"] for m in result.mounts]


def test_the_root_is_a_tmpfs_with_each_host_top_level_entry_bound_recursively_read_only() -> None:
    """Top-level host entries, except proc/sys/dev/tmp/run, are rro binds; then the usual."""
    result = plan()
    assert result.mounts[0]["type"] == "tmpfs"
    assert result.mounts[0]["destination"] == "/"
    binds = [m for m in result.mounts if "rro" in m.get("options", [])]
    assert sorted(m["destination"] for m in binds) == [
        "/bin",
        "/etc",
        "/srv",
        "/usr",
        "/var",
        "/vol",
    ]
    assert {"/proc", "/dev", "/sys", "/run", "/tmp"} <= set(destinations(result))
    tmp = next(m for m in result.mounts if m["destination"] == "/tmp")
    assert (tmp["source"], "rw" in tmp["options"]) == ("/state/c/tmp", True)
    assert destinations(result)[-3:] == ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]
    assert result.skeletons == []


@pytest.mark.parametrize(
    ("volume", "overlay_at", "skeleton"),
    [
        (Mount("/vol", "/data"), None, []),  # top level: the root tmpfs makes it
        (Mount("/vol", "/etc/app"), "/etc", [("app", fsview.Kind.DIR)]),
        (
            Mount("/vol", "/etc/a/b"),
            "/etc",
            [("a", fsview.Kind.DIR), ("a/b", fsview.Kind.DIR)],
        ),
        (Mount("/vol/key", "/srv/app/key"), "/srv/app", [("key", fsview.Kind.FILE)]),
        (Mount("/vol", "/srv/app"), None, []),  # exists on the host
        (Mount("/vol", "/var/run/secrets/x"), None, []),  # /var/run -> /run, a tmpfs
    ],
)
def test_missing_mount_points_get_a_skeleton_overlay_at_the_deepest_existing_dir(
    volume: Mount, overlay_at: str | None, skeleton: list[tuple[str, fsview.Kind]]
) -> None:
    """A mount point missing on the read-only host needs an overlay; writable places do not."""
    result = plan(volume)
    overlays = [m for m in result.mounts if m["type"] == "overlay"]
    if overlay_at is None:
        assert overlays == []
    else:
        [overlay] = overlays
        assert overlay["destination"] == overlay_at
        assert overlay["options"] == [f"lowerdir=/dev/shm/kp/c/0:{overlay_at}"]
        assert result.skeletons == [skeleton]
        assert destinations(result).index(overlay_at) < destinations(result).index(
            posixpath.normpath(volume.container_path)
        )


def test_symlinks_in_a_destination_resolve_as_in_the_container() -> None:
    """/var/run/secrets is mounted at /run/secrets, where runc will put it."""
    result = plan(Mount("/vol", "/var/run/secrets/x", read_only=True))
    assert "/run/secrets/x" in destinations(result)


def test_two_missing_mount_points_under_one_overlay_share_its_skeleton() -> None:
    """The second mount point grows the overlay's skeleton instead of stacking another."""
    result = plan(Mount("/vol", "/etc/one/x"), Mount("/vol", "/etc/one/y"))
    assert len([m for m in result.mounts if m["type"] == "overlay"]) == 1
    assert result.skeletons == [
        [("one", fsview.Kind.DIR), ("one/x", fsview.Kind.DIR), ("one/y", fsview.Kind.DIR)]
    ]


def test_a_mount_point_inside_a_writable_volume_is_made_there_and_in_a_read_only_one_by_overlay() -> (
    None
):
    writable = plan(Mount("/vol", "/etc/one"), Mount("/vol", "/etc/one/two"))
    assert writable.skeletons == [[("one", fsview.Kind.DIR)]]
    read_only = plan(Mount("/vol", "/etc/one", read_only=True), Mount("/vol", "/etc/one/two"))
    assert [
        m["options"]
        for m in read_only.mounts
        if m["destination"] == "/etc/one" and m["type"] == "overlay"
    ] == [["lowerdir=/dev/shm/kp/c/1:/vol"]]


def test_a_file_volume_on_a_directory_is_refused() -> None:
    with pytest.raises(CreateContainerError, match="is a dir"):
        plan(Mount("/vol/key", "/srv/app"))


@pytest.mark.parametrize(
    ("working_dir", "read_only", "expect"),
    [
        ("", False, None),
        ("/srv/app", False, "overlay"),  # on the host: its files, writable privately
        ("/srv/app", True, None),  # read-only root: the host's directory as it is
        ("/srv/new", False, "bind"),  # missing: an empty per-container dir
        ("/tmp", False, None),  # already the container's own
        ("/data/sub", False, None),  # inside a volume
    ],
)
def test_working_dir(working_dir: str, read_only: bool, expect: str | None) -> None:
    result = plan(Mount("/vol", "/data"), working_dir=working_dir, read_only_root=read_only)
    mounts = [m for m in result.mounts if m["destination"] == working_dir]
    if expect is None:
        assert not [m for m in mounts if m["source"] in ("overlay", PATHS.work_dir)]
    else:
        assert mounts[-1]["type"] == expect
    assert result.work_overlay == (expect == "overlay")


def test_a_volume_over_tmp_replaces_the_containers_own() -> None:
    result = plan(Mount("/vol", "/tmp"))
    assert [m["source"] for m in result.mounts if m["destination"] == "/tmp"] == ["/vol"]


@pytest.mark.parametrize(
    ("add", "drop", "present", "absent"),
    [
        ((), (), {"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"}, {"CAP_SYS_ADMIN", "CAP_NET_ADMIN"}),
        (("NET_ADMIN",), ("chown",), {"CAP_NET_ADMIN", "CAP_KILL"}, {"CAP_CHOWN"}),
        ((), ("ALL",), set(), {"CAP_CHOWN", "CAP_KILL"}),
        (("NET_BIND_SERVICE",), ("ALL",), {"CAP_NET_BIND_SERVICE"}, {"CAP_CHOWN"}),
        (("ALL",), ("CHOWN",), {"CAP_SYS_ADMIN", "CAP_BPF"}, {"CAP_CHOWN"}),
    ],
)
def test_capabilities_follow_containerd(
    add: tuple[str, ...], drop: tuple[str, ...], present: set[str], absent: set[str]
) -> None:
    caps = set(bundle.capabilities(Security(capabilities_add=add, capabilities_drop=drop)))
    assert present <= caps
    assert not absent & caps


def test_privileged_gets_what_kubeproc_holds() -> None:
    held = ("CAP_CHOWN", "CAP_SYS_ADMIN")
    assert bundle.capabilities(Security(privileged=True), grantable=held) == list(held)
    assert bundle.bounding_set("CapBnd:\t0000000000000021\n") == ("CAP_CHOWN", "CAP_KILL")


def test_resources_and_environment_in_the_spec() -> None:
    config = ContainerConfig(
        name="c",
        attempt=0,
        argv=("app",),
        env=(("A", "1"), ("PATH", "/opt/bin")),
        resources=Resources(
            memory_limit_bytes=64 << 20, cpu_limit_millis=250, cpu_request_millis=100, pids_limit=10
        ),
        tty=True,
    )
    spec = bundle.render(
        config,
        user=bundle.User(uid=5, gid=6, additional_gids=(7,), home="/home/x"),
        hostname="web-0",
        rootfs="/b/rootfs",
        netns_path="/run/netns/n",
        cgroups_path="/kp/pod-s/c",
        mounts=[],
        memsw=True,
        annotations={},
    )
    resources = spec["linux"]["resources"]
    assert resources["memory"] == {"limit": 64 << 20, "swap": 64 << 20}
    assert resources["cpu"] == {"quota": 25_000, "period": 100_000, "shares": 102}
    assert resources["pids"] == {"limit": 10}
    assert spec["process"]["env"] == [
        "HOSTNAME=web-0",
        "HOME=/home/x",
        "TERM=xterm",
        "A=1",
        "PATH=/opt/bin",
    ]
    assert spec["process"]["user"] == {"uid": 5, "gid": 6, "additionalGids": [7]}
    assert {"type": "network", "path": "/run/netns/n"} in spec["linux"]["namespaces"]
    assert spec["root"] == {"path": "/b/rootfs", "readonly": True}
    assert spec["hostname"] == "web-0"


def test_layout_derives_every_name_from_its_parameters() -> None:
    layout = Layout.build(
        Path("/s"),
        pod_cidr="10.1.2.0/24",
        bridge="kpabc123",
        netns_prefix="kp-n1",
        cgroup_parent="kp-n1",
    )
    assert str(layout.gateway) == "10.1.2.1"
    assert layout.cgroup_parent == "/kp-n1"
    assert layout.netns_name("0123456789ab", "5f1e-77aa-bb") == "kp-n1-5f1e77aa-012345"
    assert layout.container_cgroup("sb", "ct") == "/kp-n1/pod-sb/ct"
    assert bridge_config(layout)["ipam"]["dataDir"] == "/s/ipam"
    assert bridge_config(layout)["isGateway"] is False
    with pytest.raises(ValueError, match="bridge"):
        Layout.build(
            Path("/s"), pod_cidr="10.1.2.0/24", bridge="x" * 16, netns_prefix="a", cgroup_parent="b"
        )


def test_a_pod_cidr_routed_elsewhere_is_found() -> None:
    layout = Layout.build(
        Path("/s"), pod_cidr="10.1.2.0/24", bridge="kp0", netns_prefix="a", cgroup_parent="b"
    )
    routes = [
        {"dst": "default", "dev": "eth0"},
        {"dst": "10.1.0.0/16", "dev": "eth1"},
        {"dst": "10.1.2.0/24", "dev": "kp0"},
        {"dst": "192.168.0.0/16", "dev": "eth0"},
    ]
    assert overlapping_routes(routes, layout) == ["10.1.0.0/16 dev eth1"]


MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct,clone_children
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""


def test_cgroup_hierarchies_from_mountinfo() -> None:
    hybrid = Cgroups.parse(MOUNTINFO)
    assert not hybrid.v2
    assert {h.controllers for h in hybrid.hierarchies} == {
        frozenset({"cpu"}),
        frozenset({"memory"}),
        frozenset({"cpu", "cpuacct"}),
        frozenset({"name=systemd"}),
        frozenset(),
    }
    assert Path("/sys/fs/cgroup/unified/kp/x") in hybrid.dirs("/kp/x")
    unified = Cgroups.parse("30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
    assert unified.v2
    assert unified.dirs("/kp") == [Path("/sys/fs/cgroup/kp")]


RECORD = ContainerRecord(
    id="c1",
    sandbox_id="s1",
    name="c",
    attempt=0,
    created_at=100.0,
    log_path="/l",
    cgroups_path="/kp/c1",
)


@pytest.mark.parametrize(
    ("record", "exit_info", "alive", "phase", "code", "reason"),
    [
        (RECORD, None, True, ContainerPhase.CREATED, None, ""),
        (
            RECORD.__class__(**{**RECORD.__dict__, "started_at": 101.0, "pid": 9}),
            None,
            True,
            ContainerPhase.RUNNING,
            None,
            "",
        ),
        (RECORD, ExitInfo(0, 102.0, oom=False), False, ContainerPhase.EXITED, 0, "Completed"),
        (RECORD, ExitInfo(2, 102.0, oom=False), False, ContainerPhase.EXITED, 2, "Error"),
        (RECORD, ExitInfo(137, 102.0, oom=True), False, ContainerPhase.EXITED, 137, "OOMKilled"),
        (
            RECORD.__class__(**{**RECORD.__dict__, "pid": 9}),
            None,
            False,
            ContainerPhase.EXITED,
            255,
            "Error",
        ),
        (RECORD, None, False, ContainerPhase.UNKNOWN, None, ""),
    ],
)
def test_container_status(
    record: ContainerRecord,
    exit_info: ExitInfo | None,
    alive: bool,
    phase: ContainerPhase,
    code: int | None,
    reason: str,
) -> None:
    status = container_status(record, exit_info, alive=alive)
    assert (status.phase, status.exit_code, status.reason) == (phase, code, reason)


def test_runc_error_keeps_the_message() -> None:
    line = 'time="2024-01-01T00:00:00Z" level=error msg="runc create failed: exec: \\"nope\\": not found"\n'
    assert runc_error(line) == 'runc create failed: exec: "nope": not found'
    assert runc_error("plain text\n") == "plain text"


def test_exec_chain_joins_cgroups_then_namespaces_then_user_then_env() -> None:
    tools = Tools(sh="/bin/sh", nsenter="/n", setpriv="/p", env="/e", setsid="/s")
    target = ExecTarget(
        pid=42,
        cgroup_procs=("/cg/a/cgroup.procs",),
        uid=1000,
        gid=1000,
        groups=(),
        bounding=("CAP_CHOWN", "CAP_KILL"),
        env=("PATH=/bin", "LD_PRELOAD=/x.so"),
        cwd="/w",
    )
    argv = exec_argv(tools, target, ("ls", "-l"))
    assert argv[:2] == ["/bin/sh", "-c"]
    assert argv.index("/cg/a/cgroup.procs") < argv.index("/n") < argv.index("/p") < argv.index("/e")
    assert "--bounding-set=-all,+chown,+kill" in argv
    assert "--clear-groups" in argv
    assert argv[-6:] == ["-i", "--chdir=/w", "PATH=/bin", "LD_PRELOAD=/x.so", "ls", "-l"]
    assert exec_argv(tools, target, ("sh",), tty=True)[:2] == ["/s", "--ctty"]


def test_resolv_conf() -> None:
    host = "nameserver 1.1.1.1\nsearch lan\n"
    assert podfiles.resolv_conf((), (), (), host) == host
    assert podfiles.resolv_conf(("10.96.0.10",), ("ns.svc.cluster.local",), ("ndots:5",), host) == (
        "search ns.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
    )
    # What the kubelet decided and nothing more (dnsPolicy None with searches only).
    assert podfiles.resolv_conf((), ("a",), (), host) == "search a\n"
