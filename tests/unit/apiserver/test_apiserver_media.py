"""Accept headers choose Tables and discovery versions; bodies decode by Content-Type."""

from __future__ import annotations

import pytest

from kubeproc.api.errors import BadRequest, UnsupportedMediaType
from kubeproc.apiserver import media

TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
    "g=meta.k8s.io,application/json"
)
AGG_V2 = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)


def test_table_accept() -> None:
    """kubectl get's Accept asks for a Table; plain JSON does not."""
    assert media.wants_table(media.parse_accept(TABLE_ACCEPT))
    assert not media.wants_table(media.parse_accept("application/json"))
    assert not media.wants_table(media.parse_accept(None))


@pytest.mark.parametrize(
    ("accept", "version"),
    [
        (AGG_V2, "v2"),
        (
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
            "v2beta1",
        ),
        ("application/json, */*", None),
        ("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList", None),
    ],
)
def test_discovery_version(accept: str, version: str | None) -> None:
    """The first aggregated discovery version offered that we serve is chosen."""
    assert media.aggregated_discovery_version(media.parse_accept(accept)) == version


def test_bodies_decode_by_content_type() -> None:
    """JSON (also with no Content-Type) and YAML decode; other types are 415."""
    assert media.decode_object(b'{"kind":"Pod"}', None) == {"kind": "Pod"}
    assert media.decode_object(b'{"kind":"Pod"}', "application/json") == {"kind": "Pod"}
    assert media.decode_object(b"kind: Pod\n", "application/yaml") == {"kind": "Pod"}
    with pytest.raises(UnsupportedMediaType):
        media.decode_object(b"x", "text/html")


@pytest.mark.parametrize("body", [b"{not json", b"[1,2]", b""])
def test_malformed_json_is_bad_request(body: bytes) -> None:
    """Malformed or non-object JSON is a 400 with the decoder's reason."""
    with pytest.raises(BadRequest) as err:
        media.decode_object(body, "application/json")
    assert err.value.message.startswith("couldn't get version/kind; json parse error")


def test_patch_types() -> None:
    """The four patch content types are recognised; JSON patches must be lists."""
    assert media.patch_type("application/merge-patch+json; charset=utf-8") is media.PatchType.MERGE
    with pytest.raises(UnsupportedMediaType):
        media.patch_type("application/json")
    assert media.decode_patch(b'[{"op":"add","path":"/a","value":1}]', media.PatchType.JSON_PATCH)
    with pytest.raises(BadRequest):
        media.decode_patch(b'{"a":1}', media.PatchType.JSON_PATCH)
