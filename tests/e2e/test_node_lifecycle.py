"""The node process: ``up`` (detached and foreground), ``down``, and every way ``up`` refuses.

Real ``kubeproc`` processes on real ports, each test with its own data dir and port.
Every node is stopped by its data dir in a ``finally``; "stopped" is checked the way a
user would: the pid no longer runs, the port accepts a new listener, the lock is free.
"""

from __future__ import annotations

import base64
import fcntl
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.harness import (
    KUBEPROC,
    Kubectl,
    Node,
    Result,
    free_port,
    kubectl_binaries,
    wait_for,
)

pytestmark = pytest.mark.e2e

VERSIONS = kubectl_binaries(min_minor=29)


# -- what "running" and "stopped" look like from outside ------------------------------------


def process_running(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped by init) has stopped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in {"Z", "X"}


def port_free(port: int) -> bool:
    """A new listener can take the port (as the node's own listener would, SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
    return True


def lock_free(node: Node) -> bool:
    lock = node.data_dir / "kubeproc.lock"
    if not lock.exists():
        return True
    with lock.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f, fcntl.LOCK_UN)
    return True


def node_pid(node: Node) -> int:
    return int((node.data_dir / "kubeproc.pid").read_text())


def ready(node: Node) -> bool:
    """/readyz answers 200 (False while nothing listens yet, or no CA is written yet)."""
    try:
        return node.http("GET", "/readyz", token=None, timeout=5).status == 200
    except OSError:  # refused, reset, TLS errors, a missing CA file
        return False


def assert_stopped(node: Node, pid: int) -> None:
    assert not process_running(pid), f"node pid {pid} still runs after down returned"
    assert port_free(node.port), f"port {node.port} still taken after down returned"
    assert lock_free(node), "data dir still locked after down returned"
    assert not (node.data_dir / "kubeproc.pid").exists()


def assert_one_line_error(res: Result, *fragments: str) -> None:
    assert res.rc == 1, f"rc={res.rc}\nstdout: {res.out}\nstderr: {res.err}"
    lines = res.err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{res.err}"
    assert lines[0].startswith("error: ")
    assert "Traceback" not in res.err + res.out
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def run_kubeproc(*args: str, env: dict[str, str], timeout: float = 90) -> Result:
    proc = subprocess.run(
        [*KUBEPROC, *args], capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def kubectl_binary() -> Path:
    if not VERSIONS:
        pytest.skip("no kubectl 1.29+ installed")
    return VERSIONS[max(VERSIONS, key=lambda v: int(v.split(".")[1]))]


@pytest.fixture
def nodes() -> Iterator[list[Node]]:
    """Nodes a test starts; each is stopped by its data dir afterwards, whatever happened."""
    started: list[Node] = []
    yield started
    for node in started:
        node.down()


# -- up --detach and down ---------------------------------------------------------------------


def test_up_detach_returns_once_ready_and_down_stops_everything(fresh_node: Node) -> None:
    """up --detach exits 0 with /readyz already answering; down returns with the node gone.

    A second down then finds no node, says so, and succeeds.
    """
    up = fresh_node.up()
    assert up.rc == 0, up.err
    assert str(fresh_node.kubeconfig) in up.out
    assert ready(fresh_node), "up --detach returned before /readyz answered"
    pid = node_pid(fresh_node)
    assert process_running(pid)
    assert os.getsid(pid) != os.getsid(0), "the detached node shares the caller's session"
    assert not port_free(fresh_node.port)
    assert not lock_free(fresh_node)

    down = fresh_node.down()
    assert down.rc == 0, down.err
    assert "stopped" in down.out
    assert_stopped(fresh_node, pid)

    again = fresh_node.down()
    assert again.rc == 0, again.err
    assert again.out.strip() == f"no kubeproc node is running with data dir {fresh_node.data_dir}"


def test_down_without_a_node_says_so_and_succeeds(tmp_path: Path) -> None:
    """down on a data dir no node ever used says so, exits 0, and creates nothing."""
    never_used = Node(tmp_path / "never")
    res = never_used.down()
    assert res.rc == 0, res.err
    assert res.out.strip() == f"no kubeproc node is running with data dir {never_used.data_dir}"
    assert not never_used.data_dir.exists(), "down created the data dir"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_foreground_up_stops_cleanly_on_signal(tmp_path: Path, sig: signal.Signals) -> None:
    """SIGTERM or SIGINT to a foreground `kubeproc up` stops it with exit 0, no traceback."""
    node = Node(tmp_path)
    proc = subprocess.Popen(
        [*KUBEPROC, "up", "--data-dir", str(node.data_dir), "--port", str(node.port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HOME": str(node.home)},
    )
    try:
        wait_for(
            lambda: proc.poll() is not None or ready(node),
            timeout=30,
            what="the foreground node to become ready",
        )
        assert proc.poll() is None, f"foreground up exited early: {proc.communicate()}"
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        node.down()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert " ERROR " not in err, "a component failed while the node stopped"
    assert "node stopped" in err
    assert_stopped(node, proc.pid)


# -- why up refuses to start ------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_up_fails_in_one_line_when_the_port_is_taken(tmp_path: Path, host: str) -> None:
    """up --detach on a port something already listens on exits 1 with one line naming the port."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, 0))
        listener.listen()
        node = Node(tmp_path, port=listener.getsockname()[1])
        try:
            res = node.up()
        finally:
            node.down()
    assert_one_line_error(res, f"port {node.port}", "already in use")
    assert lock_free(node)
    assert not (node.data_dir / "kubeproc.pid").exists()


@pytest.mark.parametrize("layout", ["parent-is-a-file", "data-dir-is-a-file"])
def test_up_fails_in_one_line_when_the_data_dir_cannot_be_used(tmp_path: Path, layout: str) -> None:
    """up --detach where the data dir cannot be created (even by root) exits 1 with one line."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file\n")
    node = Node(tmp_path / "node")
    node.data_dir = blocker / "data" if layout == "parent-is-a-file" else blocker
    try:
        res = node.up()
    finally:
        node.down()
    assert_one_line_error(res, f"data dir {node.data_dir}")
    assert blocker.read_text() == "a regular file\n"
    assert port_free(node.port)


def _unshare_works() -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "true"], capture_output=True, check=False, timeout=10
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="needs unshare --mount (root, mount namespaces)")
@pytest.mark.parametrize("existing", [False, True], ids=["new-data-dir", "existing-data-dir"])
def test_up_fails_in_one_line_on_a_read_only_filesystem(tmp_path: Path, existing: bool) -> None:
    """up --detach with the data dir on a read-only mount exits 1 with one line, even as root."""
    mnt = tmp_path / "ro"
    mnt.mkdir()
    data_dir = mnt / "data"
    port = free_port()
    up = shlex.join([*KUBEPROC, "up", "--detach", "--data-dir", str(data_dir), "--port", str(port)])
    m, d = shlex.quote(str(mnt)), shlex.quote(str(data_dir))
    # The mount lives in a private mount namespace: it vanishes with the shell.
    prepare = (
        f"mount -t tmpfs -o size=1m tmpfs {m} && mkdir {d} && mount -o remount,ro {m}"
        if existing
        else f"mount -t tmpfs -o ro,size=1m tmpfs {m}"
    )
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", f"{prepare} && exec {up}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    started = re.search(r"\(pid (\d+)\)", proc.stdout)
    if started:  # a node that should not exist, in a namespace down cannot see into
        os.kill(int(started.group(1)), signal.SIGKILL)
    res = Result(proc.returncode, proc.stdout, proc.stderr)
    assert_one_line_error(res, f"data dir {data_dir}", "Read-only file system")
    assert port_free(port)


def test_up_fails_in_one_line_when_another_node_holds_the_data_dir(fresh_node: Node) -> None:
    """A second up on a data dir in use exits 1 naming the running node, which is undisturbed."""
    assert fresh_node.up().rc == 0
    pid = node_pid(fresh_node)
    kubeconfig = fresh_node.kubeconfig.read_bytes()
    other_port = free_port()

    detached = fresh_node.cli("up", "--detach", "--port", str(other_port))
    assert_one_line_error(detached, "another kubeproc node", f"(pid {pid})")
    foreground = fresh_node.cli("up", "--port", str(other_port))
    assert_one_line_error(foreground, "another kubeproc node", f"(pid {pid})")

    assert node_pid(fresh_node) == pid
    assert fresh_node.kubeconfig.read_bytes() == kubeconfig
    assert ready(fresh_node)
    assert port_free(other_port)


def test_up_reports_a_node_that_fails_while_starting_in_one_line(fresh_node: Node) -> None:
    """A node that dies after up --detach spawned it (a corrupt store) is one line, exit 1."""
    fresh_node.data_dir.mkdir(parents=True)
    (fresh_node.data_dir / "kubeproc.log").write_text("error: an old failure, not this one\n")
    (fresh_node.data_dir / "state.db").write_bytes(b"not a database, " * 256)
    res = fresh_node.up()
    assert_one_line_error(res, "state.db")
    assert "an old failure" not in res.err
    assert lock_free(fresh_node)
    assert port_free(fresh_node.port)


def test_concurrent_ups_on_one_data_dir_start_exactly_one_node(fresh_node: Node) -> None:
    """Two up --detach racing on one data dir and port: one starts the node, one fails in a line."""
    cmd = [*KUBEPROC, "up", "--detach", "--data-dir", str(fresh_node.data_dir)]
    cmd += ["--port", str(fresh_node.port)]
    env = {**os.environ, "HOME": str(fresh_node.home)}
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=90)
        results.append(Result(proc.returncode, out, err))
    assert sorted(r.rc for r in results) == [0, 1], results
    winner = next(r for r in results if r.rc == 0)
    loser = next(r for r in results if r.rc == 1)
    assert_one_line_error(loser)
    assert "another kubeproc node" in loser.err or "already in use" in loser.err, loser.err
    assert f"(pid {node_pid(fresh_node)})" in winner.out
    assert ready(fresh_node)


# -- kubeconfig -------------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under root with its bytes (None for a directory)."""
    return {
        str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(root.rglob("*"))
    }


def test_kubeconfig_is_written_to_the_data_dir_and_the_users_is_untouched(
    tmp_path: Path, kubectl_binary: Path
) -> None:
    """DIR/kubeconfig names the server, CA and token; ~/.kube/config and $KUBECONFIG stay as-is."""
    node = Node(tmp_path)
    own = node.home / ".kube" / "config"
    own.parent.mkdir()
    own.write_text("apiVersion: v1\nkind: Config\ncurrent-context: mine\n# the user's own\n")
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text("apiVersion: v1\nkind: Config\ncurrent-context: theirs\n")
    before = _tree(node.home), elsewhere.read_bytes()
    env = {**os.environ, "HOME": str(node.home), "KUBECONFIG": str(elsewhere)}
    flags = ["--data-dir", str(node.data_dir), "--port", str(node.port)]
    try:
        up = run_kubeproc("up", "--detach", *flags, env=env)
        assert up.rc == 0, up.err

        config = yaml.safe_load(node.kubeconfig.read_text())
        (cluster,) = config["clusters"]
        (user,) = config["users"]
        (context,) = config["contexts"]
        assert cluster["cluster"]["server"] == f"https://127.0.0.1:{node.port}"
        ca = base64.b64decode(cluster["cluster"]["certificate-authority-data"])
        assert ca == (node.data_dir / "pki" / "ca.crt").read_bytes()
        assert user["user"]["token"] == node.token()
        assert config["current-context"] == context["name"]

        kubectl = Kubectl(kubectl_binary, node, tmp_path / "kubectl-home")
        names = kubectl.ok("get", "namespaces", "-o", "name").out.split()
        assert "namespace/default" in names
    finally:
        down = run_kubeproc("down", *flags, env=env)
    assert down.rc == 0, down.err
    assert (_tree(node.home), elsewhere.read_bytes()) == before


# -- two nodes --------------------------------------------------------------------------------


def test_two_nodes_with_their_own_data_dirs_run_side_by_side(
    tmp_path: Path, kubectl_binary: Path, nodes: list[Node]
) -> None:
    """Two nodes on different data dirs and ports serve separate clusters; stopping one leaves the other."""
    a, b = Node(tmp_path / "a"), Node(tmp_path / "b")
    nodes += [a, b]
    assert a.up().rc == 0
    assert b.up().rc == 0
    ka = Kubectl(kubectl_binary, a, tmp_path / "home-a")
    kb = Kubectl(kubectl_binary, b, tmp_path / "home-b")
    assert a.token() != b.token()
    assert (a.data_dir / "pki/ca.crt").read_bytes() != (b.data_dir / "pki/ca.crt").read_bytes()

    ka.ok("create", "configmap", "only-in-a", "--from-literal=k=a")
    kb.ok("create", "configmap", "only-in-b", "--from-literal=k=b")
    assert ka("get", "configmap", "only-in-b").rc == 1
    assert kb("get", "configmap", "only-in-a").rc == 1
    assert "NotFound" in kb("get", "configmap", "only-in-a").err

    pid_a = node_pid(a)
    assert a.down().rc == 0
    assert not process_running(pid_a)
    assert ready(b)
    assert kb.ok("get", "configmap", "only-in-b", "-o", "jsonpath={.data.k}").out == "b"
    assert lock_free(a)
    assert not lock_free(b)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--pod-cidr", "nope"], "error: --pod-cidr 'nope' is not a valid CIDR"),
        (
            ["--pod-cidr", "10.96.0.0/20", "--service-cidr", "10.96.0.0/16"],
            "error: --pod-cidr 10.96.0.0/20 overlaps --service-cidr 10.96.0.0/16",
        ),
        (["--service-cidr", "10.1.0.0/30"], "error: --service-cidr 10.1.0.0/30 is too small"),
        (
            ["--crashloop-backoff-initial", "400"],
            "error: --crashloop-backoff-initial must be positive",
        ),
    ],
)
def test_bad_node_flags_are_one_line_errors(tmp_path: Path, flags: list[str], message: str) -> None:
    """Invalid CIDRs and back-off flags are refused in one line before anything starts."""
    node = Node(tmp_path)
    try:
        res = node.cli("up", "--detach", *flags)
    finally:
        node.down()
    assert res.rc == 1
    assert res.err.startswith(message), res.err
    assert "Traceback" not in res.err
    assert not (node.data_dir / "kubeproc.pid").exists()
