"""The API server: routes, authentication, error translation, and the HTTPS listener.

Owns the HTTP surface outside resource paths (``/version``, health, discovery, OpenAPI
v3 and an empty v2) and the two middlewares every request passes: bearer-token
authentication (401 as a ``Status``) and the one place a failure becomes a response (a
``StatusError`` as its ``Status``, serialized as Go does, anything else as a 500
``InternalError`` that is logged, never a traceback).
``ApiServer.run`` owns the listener for its lifetime.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from kubeproc.api import openapi
from kubeproc.api.errors import GroupResource, InternalError, StatusError, Unauthorized
from kubeproc.api.resources import Registry
from kubeproc.apiserver import discovery, media
from kubeproc.apiserver.bodies import MAX_BODY_BYTES, too_large
from kubeproc.apiserver.handlers import ResourceHandler
from kubeproc.apiserver.metricsapi import MetricsApi
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.apiserver.probehistory import ProbeHistoryHandler
from kubeproc.apiserver.prometheus import RequestMetrics
from kubeproc.apiserver.requestinfo import not_found_path
from kubeproc.apiserver.responses import json_response
from kubeproc.util.clock import Clock
from kubeproc.version import version_info

log = logging.getLogger(__name__)

# Readable without a token, as kube-apiserver's public-info-viewer role allows.
PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(err: StatusError) -> web.Response:
    return json_response(status_body(err), err.code, err.headers or None)


# StatusDetails fields Go leaves out when empty (all ``omitempty``).
_OMIT_EMPTY = {"name": "", "group": "", "kind": "", "uid": "", "causes": [], "retryAfterSeconds": 0}


def status_body(err: StatusError) -> dict[str, Any]:
    """The ``Status`` as kube-apiserver serializes it.

    Empty detail fields are omitted, and a ``details`` that is present but empty stays as
    ``{}`` (a generic 404 or 405 carries one).
    """
    body = err.status()
    if err.details is None:
        return body
    details = {k: v for k, v in err.details.items() if _OMIT_EMPTY.get(k, object()) != v}
    code = body.pop("code")
    body.pop("details", None)
    return {**body, "details": details, "code": code}


# A valid, empty OpenAPI v2 document (gnostic's openapi_v2.Document in protobuf: swagger,
# info{title, version}, paths{}). kubectl falls back to it to validate kinds the v3
# documents do not describe; finding no schema there it skips client-side validation, so
# a manifest of an unknown kind gets kubectl's own "no matches for kind" error.
def _openapi_v2_document() -> bytes:
    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    version = str(version_info()["gitVersion"]).encode()
    info = field(1, b"Kubernetes") + field(2, version)
    return field(1, b"2.0") + field(2, info) + field(8, b"")


# kubectl asks with the deprecated "@v1.0" name; the reply names the type Go can parse.
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
OPENAPI_V2_REPLY = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


class _Routes:
    """The non-resource endpoints, and the two middlewares."""

    def __init__(
        self,
        registry: Registry,
        resources: ResourceHandler,
        token: str,
        ready: Callable[[], bool],
    ) -> None:
        self.registry = registry
        self.resources = resources
        self.token = token
        self.ready = ready

    @web.middleware
    async def errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except StatusError as err:
            return error_response(err)
        except web.HTTPRequestEntityTooLarge:
            return error_response(too_large())
        except web.HTTPException as exc:
            if exc.status == 404:
                return error_response(not_found_path())
            raise
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as exc:
            log.exception("request failed method=%s path=%s", request.method, request.path)
            return error_response(InternalError.wrap(exc))

    @web.middleware
    async def authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in PUBLIC_PATHS:
            header = request.headers.get("Authorization", "")
            scheme, _, presented = header.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                presented.strip().encode(), self.token.encode()
            ):
                raise Unauthorized("Unauthorized")
        return await handler(request)

    async def version(self, _: web.Request) -> web.Response:
        return json_response(version_info())

    async def health(self, request: web.Request) -> web.Response:
        if request.path == "/readyz" and not self.ready():
            return web.Response(
                status=500,
                text="[-]kubeproc not ready\nreadyz check failed",
                content_type="text/plain",
            )
        return web.Response(text="ok", content_type="text/plain")

    async def api_root(self, request: web.Request) -> web.Response:
        accept = media.parse_accept(request.headers.get("Accept"))
        agg = media.aggregated_discovery_version(accept)
        core = request.path.rstrip("/") == "/api"
        if agg is not None:
            resp = json_response(discovery.aggregated(self.registry, core=core, version=agg))
            resp.headers["Content-Type"] = media.discovery_content_type(agg)
            return resp
        if core:
            return json_response(discovery.api_versions())
        return json_response(discovery.api_group_list(self.registry))

    async def group_or_resources(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if parts[0] == "api" and len(parts) == 2:
            body = discovery.api_resource_list(self.registry, "", parts[1])
        elif parts[0] == "apis" and len(parts) == 2:
            body = discovery.api_group(self.registry, parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            body = discovery.api_resource_list(self.registry, parts[1], parts[2])
        else:
            return await self.resources.handle(request)
        if body is None:
            raise not_found_path()
        return json_response(body)

    async def openapi_v2(self, request: web.Request) -> web.Response:
        accept = request.headers.get("Accept", "")
        if OPENAPI_V2_PROTOBUF in accept or OPENAPI_V2_REPLY in accept:
            return web.Response(
                body=_openapi_v2_document(), headers={"Content-Type": OPENAPI_V2_REPLY}
            )
        info = {"title": "Kubernetes", "version": version_info()["gitVersion"]}
        return json_response({"swagger": "2.0", "info": info, "paths": {}})

    async def openapi_v3(self, request: web.Request) -> web.Response:
        sub = request.path.removeprefix("/openapi/v3").strip("/")
        if not sub:
            return json_response(openapi.root_document())
        doc = openapi.document_bytes(sub)
        if doc is None:
            raise not_found_path()
        data, etag = doc
        return web.Response(
            body=data,
            content_type="application/json",
            headers={"Etag": f'"{etag}"', "Cache-Control": "no-cache, private"},
        )

    async def not_found(self, _: web.Request) -> web.Response:
        raise not_found_path()


def build_app(
    objects: ObjectStore,
    registry: Registry,
    clock: Clock,
    *,
    token: str,
    kubelet_token: str = "",
    ready: Callable[[], bool] = lambda: True,
    write_warnings: Mapping[GroupResource, str] | None = None,
) -> web.Application:
    """The aiohttp application serving the Kubernetes API."""
    resources = ResourceHandler(
        objects, registry, clock, kubelet_token=kubelet_token, write_warnings=write_warnings
    )
    routes = _Routes(registry, resources, token, ready)
    prometheus = RequestMetrics(objects, registry, clock, kubelet_token=kubelet_token)
    app = web.Application(
        middlewares=[prometheus.instrument, routes.errors, routes.authenticate],
        client_max_size=MAX_BODY_BYTES + 1,
    )
    add = app.router.add_get
    add("/version", routes.version)
    for path in ("/healthz", "/livez", "/readyz"):
        add(path, routes.health)
    for path in ("/api", "/api/", "/apis", "/apis/"):
        add(path, routes.api_root)
    add("/openapi/v2", routes.openapi_v2)
    add("/openapi/v3", routes.openapi_v3)
    add("/openapi/v3/{tail:.*}", routes.openapi_v3)
    add("/metrics", prometheus.handle)
    probes = ProbeHistoryHandler(objects, registry, kubelet_token=kubelet_token)
    add("/api/v1/namespaces/{namespace}/pods/{name}/probehistory", probes.handle)
    app.router.add_route("*", "/api/{tail:.+}", routes.group_or_resources)
    metrics = MetricsApi(objects, registry, clock, kubelet_token=kubelet_token)
    app.router.add_route("*", "/apis/metrics.k8s.io", metrics.handle)
    app.router.add_route("*", "/apis/metrics.k8s.io/{tail:.*}", metrics.handle)
    app.router.add_route("*", "/apis/{tail:.+}", routes.group_or_resources)
    app.router.add_route("*", "/{tail:.*}", routes.not_found)
    return app


class ApiServer:
    """Serves ``build_app`` on one address until cancelled."""

    def __init__(
        self,
        app: web.Application,
        *,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._ssl = ssl_context
        self.started = asyncio.Event()

    async def run(self) -> None:
        runner = web.AppRunner(
            self._app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        try:
            site = web.TCPSite(
                runner,
                self._host,
                self._port,
                ssl_context=self._ssl,
                reuse_address=True,
                backlog=512,
            )
            await site.start()
            self.started.set()
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
