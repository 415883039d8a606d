"""The records the object store takes and gives: write and delete options, lists, events.

Owns the small frozen values that cross between the resource handlers (which build them
from a request) and the object store (which acts on them), so neither side imports the
other's internals. ``objects`` re-exports them for callers that predate this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WriteOptions:
    field_manager: str = ""
    dry_run: bool = False
    force: bool = False
    user_agent: str = ""

    @property
    def manager(self) -> str:
        """The field manager a write records: the one named, else the user agent's."""
        return self.field_manager or manager_from(self.user_agent)


@dataclass(frozen=True)
class DeleteOptions:
    propagation: str = ""
    grace_period: int | None = None
    precondition_uid: str = ""
    precondition_rv: str = ""
    dry_run: bool = False


@dataclass(frozen=True)
class ListResult:
    items: list[dict[str, Any]]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None


@dataclass(frozen=True)
class WatchEvent:
    type: str
    object: dict[str, Any]
    revision: int = 0


def manager_from(user_agent: str) -> str:
    """The default field manager: the user agent's first word, as the apiserver does."""
    head = user_agent.split("/", maxsplit=1)[0].strip()
    return head[:128] or "unknown"
