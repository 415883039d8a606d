"""Fixtures for end-to-end tests: a node per test module, kubectl per version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    n = Node(tmp_path_factory.mktemp("node"))
    res = n.up()
    assert res.rc == 0, f"kubeproc up failed: {res.err}{res.out}"
    try:
        yield n
    finally:
        down = n.down()
        assert down.rc == 0, down.err


@pytest.fixture
def fresh_node(tmp_path: Path) -> Iterator[Node]:
    n = Node(tmp_path)
    try:
        yield n
    finally:
        n.down()
