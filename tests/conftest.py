"""Shared test configuration: the longest tests are collected, and so run, first.

The suite runs on several pytest-xdist workers, one test file per worker at a time, in
collection order (``--no-loadscope-reorder``: xdist would otherwise order files by their
number of tests). A long module (the probe timing cases, the labs) started last would
leave the other workers idle at the end; started first, everything else runs beside it.
``long(seconds)`` on a single test weighs more than its module's plain ``long``: the
ten-minute probe soak starts the run, on a worker that gets nothing else until its module
is nearly done, while the rest of the suite shares the other workers.
"""

from __future__ import annotations

import pytest


def _weight(item: pytest.Item) -> float:
    marker = item.get_closest_marker("long")
    if marker is None:
        return 0.0
    return float(marker.args[0]) if marker.args else 1.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: -_weight(item))
