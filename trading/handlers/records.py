"""Plain records describing what a load found: handlers, load errors, and the set they form.

They are plain data so the IB worker can turn them into activity rows, heartbeat JSON or admin
listings without importing anything from ib_insync or Django.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class LoadErrorKind:
    """Why a file or path could not contribute handlers."""

    MISSING_PATH = "missing_path"
    SKIPPED_FILE = "skipped_file"
    SYNTAX = "syntax_error"
    IMPORT = "import_error"
    DEFINITION = "definition_error"


@dataclass(frozen=True)
class HandlerRecord:
    """One collected handler: what it listens to and where it was written.

    ``event`` is the short name (``orderStatus``); ``attr`` the ``IB`` attribute it binds to.
    """

    event: str
    attr: str
    name: str
    module: str
    source_file: str
    line: int
    is_async: bool
    func: Callable[..., Any] = field(repr=False, compare=False)

    @property
    def location(self) -> str:
        return f"{self.source_file}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "name": self.name,
            "module": self.module,
            "file": self.source_file,
            "line": self.line,
            "is_async": self.is_async,
        }


@dataclass(frozen=True)
class LoadError:
    """A file or path that failed to load, with the place the problem is.

    ``file``/``line`` point at the problem itself (a syntax error in a sibling module points at
    the sibling); ``loading`` is the handler file whose load failed because of it.
    """

    kind: str
    file: str
    line: int | None
    message: str
    error_type: str = ""
    traceback: str = ""
    loading: str = ""

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        via = f" (while loading {self.loading})" if self.loading and self.loading != self.file else ""
        kind = f"{self.error_type}: " if self.error_type else ""
        return f"{self.location}: {kind}{self.message}{via}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "error_type": self.error_type,
            "traceback": self.traceback,
            "loading": self.loading,
        }


@dataclass(frozen=True)
class HandlerSet:
    """The result of one load: handlers in load order, the errors, and the files looked at.

    A new set is produced by every load, so a reload never sees handlers left from a previous one.
    """

    handlers: tuple[HandlerRecord, ...] = ()
    errors: tuple[LoadError, ...] = ()
    files: tuple[Path, ...] = ()
    paths: tuple[str, ...] = ()
    loaded_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def ok(self) -> bool:
        return not self.errors

    def for_event(self, event: str) -> list[HandlerRecord]:
        return [record for record in self.handlers if event in (record.event, record.attr)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "loaded_at": self.loaded_at.isoformat(),
            "paths": list(self.paths),
            "files": [str(path) for path in self.files],
            "handlers": [record.to_dict() for record in self.handlers],
            "errors": [error.to_dict() for error in self.errors],
        }
