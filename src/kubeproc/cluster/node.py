"""The node process: one store, the API server, and the components, under one owner.

``run_node`` holds the data dir's lock for its whole life, opens the store, serves the API
over HTTPS, and runs the scheduler, controllers and the kubelet's node registration as
children of one TaskGroup; they reach the API only through the client. Cancelling it
stops everything it started before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import ssl
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kubeproc.api.resources import REGISTRY
from kubeproc.apiserver.app import ApiServer, build_app
from kubeproc.apiserver.bootstrap import compact_periodically, ensure_system_namespaces
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.client import RestClient
from kubeproc.cluster.pki import ensure_credentials, kubeconfig
from kubeproc.controllers.garbagecollector import GarbageCollector
from kubeproc.controllers.namespace import NamespaceController
from kubeproc.controllers.serviceaccounts import ServiceAccountController
from kubeproc.kubelet.nodestatus import NodeStatus
from kubeproc.scheduler.scheduler import Scheduler
from kubeproc.storage import SqliteStore, StorageError
from kubeproc.util.clock import SystemClock
from kubeproc.util.supervise import supervise

log = logging.getLogger(__name__)


class NodeError(Exception):
    """The node cannot start; the message says why, for the user."""


@dataclass(frozen=True)
class NodeConfig:
    data_dir: Path
    port: int
    node_name: str
    host: str = "127.0.0.1"

    @property
    def server(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def kubeconfig_path(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "kubeproc.pid"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "kubeproc.lock"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "kubeproc.log"


def holder_pid(config: NodeConfig) -> int | None:
    """The pid of the node holding this data dir, or None when it is free."""
    if not config.lock_path.exists():
        return None
    with config.lock_path.open("a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return int(config.pid_path.read_text().strip())
            except (OSError, ValueError):
                return -1
        fcntl.flock(f, fcntl.LOCK_UN)
    return None


@contextlib.contextmanager
def data_dir_lock(config: NodeConfig) -> Iterator[None]:
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(config.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as err:
        raise NodeError(f"data dir {config.data_dir} is not writable: {err.strerror}") from err
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = holder_pid(config)
            raise NodeError(
                f"another kubeproc node is running with data dir {config.data_dir}"
                + (f" (pid {pid})" if pid and pid > 0 else "")
            ) from None
        config.pid_path.write_text(f"{os.getpid()}\n")
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                config.pid_path.unlink()
    finally:
        os.close(fd)


def server_ssl(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


async def run_node(config: NodeConfig, *, on_ready: Callable[[], None] | None = None) -> None:
    clock = SystemClock()
    with data_dir_lock(config):
        creds = ensure_credentials(config.data_dir / "pki")
        try:
            store = SqliteStore.open(config.data_dir / "state.db")
        except StorageError as err:
            raise NodeError(f"cannot open the store in {config.data_dir}: {err}") from err
        try:
            objects = ObjectStore(store, REGISTRY, clock)
            ensure_system_namespaces(objects, REGISTRY)
            token = creds.token
            kubeconfig_text = kubeconfig(config.server, creds.ca_cert, token)
            tmp = config.kubeconfig_path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(kubeconfig_text)
            tmp.replace(config.kubeconfig_path)
            node_status: NodeStatus | None = None
            app = build_app(
                objects,
                REGISTRY,
                clock,
                token=token,
                ready=lambda: node_status is not None and node_status.registered,
            )
            server = ApiServer(
                app,
                host=config.host,
                port=config.port,
                ssl_context=server_ssl(creds.server_cert, creds.server_key),
            )
            async with asyncio.TaskGroup() as tg:
                serving = tg.create_task(server.run(), name="apiserver")
                await _wait_started(server, serving)
                async with RestClient(
                    config.server, token, ca_file=str(creds.ca_cert), user_agent="kubeproc/node"
                ) as client:
                    node_status = NodeStatus(
                        client,
                        REGISTRY,
                        clock,
                        node_name=config.node_name,
                        data_dir=config.data_dir,
                    )
                    await node_status.register()
                    components: dict[str, Callable[[], Awaitable[None]]] = {
                        "node-status": node_status.run,
                        "scheduler": Scheduler(client, REGISTRY, clock, config.node_name).run,
                        "namespace-controller": NamespaceController(client, REGISTRY, clock).run,
                        "garbage-collector": GarbageCollector(client, REGISTRY, clock).run,
                        "serviceaccount-controller": ServiceAccountController(
                            client, REGISTRY, clock
                        ).run,
                    }
                    for name, run in components.items():
                        tg.create_task(supervise(name, run, clock), name=name)
                    tg.create_task(compact_periodically(objects, clock), name="compactor")
                    log.info("node ready server=%s node=%s", config.server, config.node_name)
                    if on_ready is not None:
                        on_ready()
                    await asyncio.Event().wait()
        finally:
            store.close()


async def _wait_started(server: ApiServer, serving: asyncio.Task[None]) -> None:
    started = asyncio.ensure_future(server.started.wait())
    done, _ = await asyncio.wait({started, serving}, return_when=asyncio.FIRST_COMPLETED)
    if serving in done:
        started.cancel()
        exc = serving.exception()
        if isinstance(exc, OSError):
            raise NodeError(f"cannot listen on the API port: {exc.strerror}") from exc
        if exc is not None:
            raise exc
