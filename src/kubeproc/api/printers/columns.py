"""The pieces every kind's printer is built from: columns, the printer record, field access.

A printer is data (its ``Column`` list) plus one pure function from an object and ``now``
to that row's cells, like a handler registered with Go's ``TableHandler``. The server
always prints wide and lets kubectl hide priority-1 columns, so a row carries every cell.
Objects are plain JSON dicts; the accessors here read them defensively, because a table
must render even for an object some other component wrote sloppily.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubeproc.api.printers.age import translate_timestamp_since

Cells = Callable[[dict[str, Any], dt.datetime], list[object]]


@dataclass(frozen=True)
class Column:
    """One ``meta.k8s.io/v1`` ``TableColumnDefinition``."""

    name: str
    type: str  # "string", "integer", "date"…: the OpenAPI type of the cells
    format: str  # "name" marks the column kubectl uses as the object's name
    description: str
    priority: int  # 0 always shown; 1 only with -o wide

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


def col(name: str, description: str, *, type: str = "string", wide: bool = False) -> Column:
    """A column with the defaults most printers use."""
    return Column(name, type, "", description, 1 if wide else 0)


NAME = Column("Name", "string", "name", "Name of the object, unique in its namespace.", 0)
AGE = col("Age", "Time since the object was created.")
CONTAINERS = col("Containers", "Names of the containers in the pod template.", wide=True)
IMAGES = col("Images", "Images of the containers in the pod template.", wide=True)


@dataclass(frozen=True)
class Printer:
    """A kind's columns and its row function (``cells`` returns all of them, wide ones too)."""

    columns: tuple[Column, ...]
    cells: Cells
    conditions: Callable[[dict[str, Any]], list[dict[str, str]]] | None = None


# -- reading JSON objects ------------------------------------------------------------------


def get(obj: Any, path: str) -> Any:
    """The value at a dotted path, or ``None`` if any step is missing or not an object."""
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def text(obj: Any, path: str, default: str = "") -> str:
    value = get(obj, path)
    return default if value is None or value == "" else str(value)


def number(obj: Any, path: str, default: int = 0) -> int:
    value = get(obj, path)
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return value


def mapping(obj: Any, path: str) -> dict[str, Any]:
    value = get(obj, path)
    return value if isinstance(value, dict) else {}


def items(obj: Any, path: str) -> list[dict[str, Any]]:
    """The dict entries of a list field (anything else in the list is skipped)."""
    value = get(obj, path)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def age(obj: dict[str, Any], now: dt.datetime) -> str:
    return translate_timestamp_since(get(obj, "metadata.creationTimestamp"), now)


def name(obj: dict[str, Any]) -> str:
    return text(obj, "metadata.name")


def container_cells(containers: list[dict[str, Any]]) -> list[object]:
    """``layoutContainerCells``: names and images, each comma-joined."""
    return [
        ",".join(text(c, "name") for c in containers),
        ",".join(text(c, "image") for c in containers),
    ]
