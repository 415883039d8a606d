"""Shared test configuration: modules marked ``long`` are collected first.

The suite runs on several pytest-xdist workers, one test file per worker at a time, in
collection order. A long module (the ten-minute probe soak, the probe timing cases)
started last would leave the other workers idle at the end; started first, everything
else runs beside it.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
