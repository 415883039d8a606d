"""JSON responses, the one encoding the API server answers with."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )
