"""Find handler files from ``IB_DAEMON_HANDLERS`` (or the project's ``handlers/`` folder).

Rules, in the order they apply:

* the variable holds paths joined by ``os.pathsep``; empty entries are ignored, and an unset or
  blank variable means the project's top-level ``handlers/`` folder;
* a folder is searched recursively; a file is taken as given;
* entries keep the order they were given in, and each folder's files are sorted by relative path;
* ``__init__.py``, names starting with a dot (files and folders), ``__pycache__`` and files not
  ending in ``.py`` are skipped inside folders; given explicitly, such a file is an error so a typo
  in the variable never passes silently;
* the same file reached twice (duplicate entries, overlapping folders, symlinks) loads once;
* a path that does not exist is an error, reported with the rest.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from trading.handlers.records import LoadError, LoadErrorKind

ENV_VAR = "IB_DAEMON_HANDLERS"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HANDLERS_DIR = PROJECT_ROOT / "handlers"
SKIPPED_DIRS = {"__pycache__"}


@dataclass(frozen=True)
class HandlerFile:
    """A file to load; ``root`` is the configured folder its module name is relative to."""

    path: Path
    root: Path

    @property
    def real(self) -> str:
        return os.path.realpath(self.path)


@dataclass(frozen=True)
class Discovery:
    """The configured entries, the files found in them, and the entries that failed."""

    paths: tuple[str, ...]
    files: tuple[HandlerFile, ...]
    errors: tuple[LoadError, ...]


PathsArg = str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None


def configured_paths(paths: PathsArg = None) -> list[str]:
    """The path entries to search: ``paths`` if given, else the env variable, else the default.

    A single string is split on ``os.pathsep`` like the environment variable; a blank string
    counts as not given, so an unset setting passed through as ``""`` still finds the default.
    """
    if isinstance(paths, str) and not paths.strip():
        paths = None
    if paths is None:
        raw = os.environ.get(ENV_VAR, "")
        entries = [entry for entry in raw.split(os.pathsep) if entry.strip()]
        return entries or [str(DEFAULT_HANDLERS_DIR)]
    if isinstance(paths, (str, os.PathLike)):
        paths = str(paths).split(os.pathsep)
    return [str(entry) for entry in paths if str(entry).strip()]


def discover_handler_files(paths: PathsArg = None) -> Discovery:
    """Apply the discovery rules to ``paths`` (see the module docstring)."""
    entries = configured_paths(paths)
    absolute = [Path(os.path.abspath(os.path.expanduser(entry))) for entry in entries]
    folders = [path for path in absolute if path.is_dir()]
    found: list[HandlerFile] = []
    errors: list[LoadError] = []
    seen: set[str] = set()
    for path in absolute:
        for candidate in _expand(path, errors):
            handler_file = HandlerFile(path=candidate, root=_root_for(candidate, folders))
            if handler_file.real not in seen:
                seen.add(handler_file.real)
                found.append(handler_file)
    return Discovery(paths=tuple(entries), files=tuple(found), errors=tuple(errors))


def is_handler_file_name(name: str) -> bool:
    """True for a name the folder search would load."""
    return name.endswith(".py") and not name.startswith(".") and name != "__init__.py"


def _expand(path: Path, errors: list[LoadError]) -> list[Path]:
    if path.is_dir():
        return list(_walk(path, set(), errors))
    if path.is_file():
        if is_handler_file_name(path.name):
            return [path]
        errors.append(_path_error(LoadErrorKind.SKIPPED_FILE, path, _skip_reason(path.name)))
        return []
    errors.append(_path_error(LoadErrorKind.MISSING_PATH, path, "handler path does not exist"))
    return []


def _walk(folder: Path, visited: set[str], errors: list[LoadError]) -> Iterator[Path]:
    """Depth-first, name-sorted walk; follows folder symlinks but never loops."""
    real = os.path.realpath(folder)
    if real in visited:
        return
    visited.add(real)
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        errors.append(_path_error(LoadErrorKind.MISSING_PATH, folder, f"cannot be read: {error}"))
        return
    for entry in entries:
        if entry.is_dir():
            if not entry.name.startswith(".") and entry.name not in SKIPPED_DIRS:
                yield from _walk(Path(entry.path), visited, errors)
        elif entry.is_file() and is_handler_file_name(entry.name):
            yield Path(entry.path)


def _root_for(path: Path, folders: list[Path]) -> Path:
    """The outermost configured folder holding ``path``, so names do not depend on entry order."""
    holders = [folder for folder in folders if path.is_relative_to(folder)]
    return min(holders, key=lambda folder: len(folder.parts)) if holders else path.parent


def _skip_reason(name: str) -> str:
    if name == "__init__.py":
        return "__init__.py is never loaded as a handler file"
    if name.startswith("."):
        return "dot-files are never loaded as handler files"
    return "not a Python (.py) file"


def _path_error(kind: str, path: Path, message: str) -> LoadError:
    return LoadError(kind=kind, file=str(path), line=None, message=message, loading=str(path))
