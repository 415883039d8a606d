"""Request bodies: read with a size cap, decoded through kube-apiserver's checks in order.

Owns what a write's body goes through before the object store sees it. An object body
(create, update, a Scale) is refused in the order clients observe: media type (415),
size (413), ``fieldValidation`` options (422), the decoder (400, ``decoding``), then
unknown fields (``fieldvalidation``), and leaves pruned to the schema. A patch body is
typed by its Content-Type and decoded the same way; ``PatchBody`` applies it to an object
and checks the result, so the resource and scale handlers patch alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from kubeproc.api import openapi
from kubeproc.api.errors import RequestEntityTooLarge, StatusError
from kubeproc.api.patch import json_merge, json_patch, strategic_merge
from kubeproc.api.resources import ResourceType
from kubeproc.apiserver import decoding, fieldvalidation, media

MAX_BODY_BYTES = 3 * 1024 * 1024


def too_large() -> StatusError:
    """The 413 for a body over ``MAX_BODY_BYTES``, however it was noticed."""
    return RequestEntityTooLarge(f"Request entity too large: limit is {MAX_BODY_BYTES}")


async def read(request: web.Request) -> bytes:
    """The whole body, or a 413 as soon as it is known to exceed the cap."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise too_large()
    # ``content.read(n)`` returns whatever has arrived so far, not the whole body: a
    # body spanning several TLS records would be cut short. Read to the end, capped.
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


async def decode_object(
    request: web.Request, rt: ResourceType, options_kind: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """A create or update body, through the decoder's checks in kube-apiserver's order.

    415 for the media type, 413 for the size, 422 for the options, then the decoder's
    400s, then ``fieldValidation``. Returns the object (unknown fields dropped unless
    refused) and the ``Warning`` headers to send.
    """
    media_type = media.body_media_type(request.headers.get("Content-Type"))
    raw = await read(request)
    directive = fieldvalidation.mode(request, options_kind)
    try:
        obj = media.decode_object(raw, media_type)
    except media.BodyError as err:
        raise decoding.unrecognized(rt.kind, err.message, raw) from None
    kind, version = decoding.check_body(rt, obj, raw)
    headers = fieldvalidation.check_write(directive, rt, obj, data_kind=kind, data_version=version)
    return openapi.prune_unknown(rt.group, rt.version, rt.kind, obj), headers


@dataclass(frozen=True)
class PatchBody:
    """A decoded patch: its type, its content, and the ``fieldValidation`` directive."""

    kind: media.PatchType
    patch: Any
    directive: str

    @property
    def strategic(self) -> bool:
        return self.kind is media.PatchType.STRATEGIC

    def apply_to(self, obj: dict[str, Any], rt: ResourceType) -> dict[str, Any]:
        """The patched object; ``rt`` names the schema a strategic merge follows."""
        if self.strategic:
            return strategic_merge(obj, self.patch, rt.group, rt.kind)
        if self.kind is media.PatchType.JSON_PATCH:
            return json_patch(obj, self.patch)
        return json_merge(obj, self.patch)

    def check(self, rt: ResourceType, patched: dict[str, Any]) -> dict[str, str]:
        """Refuse (422) or warn about the patched object; returns ``Warning`` headers."""
        bad_value = (
            fieldvalidation.go_format(self.patch)
            if self.strategic
            else fieldvalidation.patched_json(patched)
        )
        return fieldvalidation.check_patched(
            self.directive, rt, patched, bad_value, strategic=self.strategic
        )


async def read_patch(request: web.Request) -> PatchBody:
    """A patch body: 415 for its type, 413 for its size, 422 for options, 400 to decode."""
    kind = media.patch_type(request.headers.get("Content-Type"))
    raw = await read(request)
    directive = fieldvalidation.mode(request, "PatchOptions")
    patch = media.decode_patch(raw, kind, strict=directive != fieldvalidation.IGNORE)
    return PatchBody(kind, patch, directive)
