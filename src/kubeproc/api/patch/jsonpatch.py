"""JSON patch (RFC 6902, ``application/json-patch+json``) as kube-apiserver applies it.

Owns ``json_patch``, called by the apiserver's PATCH handler for ``kubectl patch --type
json``. kube-apiserver runs evanphx/json-patch v4, so its behaviour is followed where it
differs from the RFC: negative array indexes count from the end, ``replace`` of a
missing object member adds it, ``test`` treats a missing member like ``null``, and
``copy`` from a missing member copies ``null``.

Errors are what the client sees: a body that is not a list of objects is a 400 with Go's
decoding text; more than 10000 operations is a 413; an operation that does not apply
is a 422 whose message is the generic ``the server rejected our request due to an error
in our request`` (the apiserver drops the library's text; ``Unprocessable.detail`` keeps
it, worded as the library words it).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from kubeproc.api.errors import BadRequest, RequestEntityTooLarge
from kubeproc.api.patch.goerrors import Unprocessable

MAX_OPERATIONS = 10000

_MISSING = "missing value"
_INVALID_INDEX = "invalid index referenced"
_TEST_FAILED = "test failed"
_INT = re.compile(r"[+-]?[0-9]+")
_JSON_KIND = {bool: "bool", int: "number", float: "number", str: "string", list: "array"}


class _OpError(Exception):
    pass


def json_patch(original: dict[str, Any], ops: Any) -> dict[str, Any]:
    """Apply RFC 6902 operations to ``original``; neither input is changed."""
    if ops is None:
        ops = []
    if not isinstance(ops, list):
        raise BadRequest(_cannot_unmarshal(ops, "jsonpatch.Patch"))
    for op in ops:
        if op is not None and not isinstance(op, dict):
            raise BadRequest(_cannot_unmarshal(op, "jsonpatch.Operation"))
    if len(ops) > MAX_OPERATIONS:
        raise RequestEntityTooLarge(
            f"The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, got {len(ops)}"
        )
    box: list[Any] = [copy.deepcopy(original)]
    for op in ops:
        try:
            _apply(box, op or {})
        except _OpError as err:
            raise Unprocessable(str(err)) from err
    if not isinstance(box[0], dict):
        raise Unprocessable("json: cannot unmarshal array into Go value of type an object")
    return box[0]


def _cannot_unmarshal(value: Any, go_type: str) -> str:
    kind = "object" if isinstance(value, dict) else _JSON_KIND.get(type(value), "null")
    return f"json: cannot unmarshal {kind} into Go value of type {go_type}"


def _wrap(message: str, cause: str) -> _OpError:
    return _OpError(f"{message}: {cause}")


def _string_field(op: dict[str, Any], name: str, missing: str) -> str:
    value = op.get(name)
    if value is None:
        raise _wrap(missing, _MISSING)
    if not isinstance(value, str):
        raise _OpError(_cannot_unmarshal(value, "string"))
    return value


def _path(op: dict[str, Any]) -> str:
    return _string_field(op, "path", "operation missing path field")


def _from(op: dict[str, Any]) -> str:
    return _string_field(op, "from", "operation, missing from field")


def _decode(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _atoi(token: str) -> int:
    if not _INT.fullmatch(token):
        raise _OpError(f'strconv.Atoi: parsing "{token}": invalid syntax')
    return int(token)


def _find(box: list[Any], path: str) -> tuple[Any, str] | None:
    """The container holding the last token of ``path``, and that token, decoded."""
    parts = path.split("/")
    if len(parts) < 2:
        return None
    node = box[0]
    for part in parts[1:-1]:
        try:
            node = _get(node, _decode(part))
        except _OpError:
            return None
        if not isinstance(node, dict | list):
            return None
    return node, _decode(parts[-1])


def _index(items: list[Any], key: str, *, extra: int = 0) -> int:
    idx = _atoi(key)
    size = len(items) + extra
    if idx < 0:
        if idx < -size:
            raise _wrap(f"Unable to access invalid index: {idx}", _INVALID_INDEX)
        idx += size
    return idx


def _get(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        return node.get(key)
    idx = _index(node, key)
    if idx >= len(node):
        raise _wrap(f"Unable to access invalid index: {idx}", _INVALID_INDEX)
    return node[idx]


def _add(node: Any, key: str, value: Any) -> None:
    if isinstance(node, dict):
        node[key] = value
        return
    if key == "-":
        node.append(value)
        return
    try:
        raw = _atoi(key)
    except _OpError as err:
        raise _wrap(f"value was not a proper array index: '{key}'", str(err)) from err
    if raw >= len(node) + 1:
        raise _wrap(f"Unable to access invalid index: {raw}", _INVALID_INDEX)
    node.insert(_index(node, key, extra=1), value)


def _remove(node: Any, key: str) -> None:
    if isinstance(node, dict):
        if key not in node:
            raise _wrap(f"Unable to remove nonexistent key: {key}", _MISSING)
        del node[key]
        return
    raw = _atoi(key)
    if raw >= len(node):
        raise _wrap(f"Unable to access invalid index: {raw}", _INVALID_INDEX)
    del node[_index(node, key)]


def _value(op: dict[str, Any]) -> Any:
    return copy.deepcopy(op.get("value"))


def _locate(box: list[Any], path: str, message: str) -> tuple[Any, str]:
    found = _find(box, path)
    if found is None:
        raise _wrap(message, _MISSING)
    return found


def _apply(box: list[Any], op: dict[str, Any]) -> None:
    kind = op.get("op")
    if kind == "add":
        path = _path_or(op, "add operation failed to decode path")
        node, key = _locate(
            box, path, f'add operation does not apply: doc is missing path: "{path}"'
        )
        _in(f"error in add for path: '{path}'", _add, node, key, _value(op))
    elif kind == "remove":
        path = _path_or(op, "remove operation failed to decode path")
        node, key = _locate(
            box, path, f'remove operation does not apply: doc is missing path: "{path}"'
        )
        _in(f"error in remove for path: '{path}'", _remove, node, key)
    elif kind == "replace":
        _replace(box, op)
    elif kind == "move":
        _move(box, op)
    elif kind == "test":
        _test(box, op)
    elif kind == "copy":
        _copy(box, op)
    else:
        raise _OpError(f"Unexpected kind: {kind if isinstance(kind, str) else 'unknown'}")


def _path_or(op: dict[str, Any], message: str) -> str:
    try:
        return _path(op)
    except _OpError as err:
        raise _wrap(message, _MISSING) from err


def _in(message: str, action: Any, *args: Any) -> Any:
    try:
        return action(*args)
    except _OpError as err:
        raise _wrap(message, str(err)) from err


def _replace(box: list[Any], op: dict[str, Any]) -> None:
    try:
        path = _path(op)
    except _OpError as err:
        raise _wrap("replace operation failed to decode path", str(err)) from err
    if path == "":
        value = _value(op)
        # evanphx wraps a nil error here, so a scalar document is silently ignored.
        if isinstance(value, dict | list):
            box[0] = value
        return
    node, key = _locate(box, path, f"replace operation does not apply: doc is missing path: {path}")
    try:
        _get(node, key)
    except _OpError as err:
        raise _wrap(
            f"replace operation does not apply: doc is missing key: {path}", _MISSING
        ) from err
    if isinstance(node, dict):
        node[key] = _value(op)
    else:
        node[_index(node, key)] = _value(op)


def _move(box: list[Any], op: dict[str, Any]) -> None:
    try:
        source = _from(op)
    except _OpError as err:
        raise _wrap("move operation failed to decode from", str(err)) from err
    node, key = _locate(
        box, source, f"move operation does not apply: doc is missing from path: {source}"
    )
    value = _in(f"error in move for path: '{key}'", _get, node, key)
    _in(f"error in move for path: '{key}'", _remove, node, key)
    try:
        path = _path(op)
    except _OpError as err:
        raise _wrap("move operation failed to decode path", str(err)) from err
    node, key = _locate(
        box, path, f"move operation does not apply: doc is missing destination path: {path}"
    )
    _in(f"error in move for path: '{path}'", _add, node, key, value)


def _copy(box: list[Any], op: dict[str, Any]) -> None:
    try:
        source = _from(op)
    except _OpError as err:
        raise _wrap("copy operation failed to decode from", str(err)) from err
    node, key = _locate(
        box, source, f"copy operation does not apply: doc is missing from path: {source}"
    )
    value = copy.deepcopy(_in(f"error in copy for from: '{source}'", _get, node, key))
    path = _path_or(op, "copy operation failed to decode path")
    node, key = _locate(
        box, path, f"copy operation does not apply: doc is missing destination path: {path}"
    )
    _in("error while adding value during copy", _add, node, key, value)


def _test(box: list[Any], op: dict[str, Any]) -> None:
    try:
        path = _path(op)
    except _OpError as err:
        raise _wrap("test operation failed to decode path", str(err)) from err
    failed = _wrap(f"testing value {path} failed", _TEST_FAILED)
    if path == "":
        if not _same(box[0], op.get("value")):
            raise failed
        return
    node, key = _locate(box, path, f"test operation does not apply: is missing path: {path}")
    current = _in(f"error in test for path: '{path}'", _get, node, key)
    expected = op.get("value")
    if current is None and expected is None:
        return
    if current is None or expected is None or not _same(current, expected):
        raise failed


def _same(a: Any, b: Any) -> bool:
    """evanphx's equality: structural for containers, textual for scalars (1 != 1.0)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    return json.dumps(a) == json.dumps(b)
