"""Import handler files, each under its own module name, and gather a fresh ``HandlerSet``.

Module names: every file becomes ``ibhandlers.<root>.<relative path dotted>``, where ``<root>`` is
the name of the configured folder it was found in (for a file given directly: its parent folder).
The seed imported everything as "hook", so files overwrote each other in ``sys.modules``.

Sibling imports: the root folder and its sub-folders are registered as packages of that namespace
(their ``__init__.py`` is never executed), so a handler file can write ``from . import common`` or
``from ibhandlers.handlers import common`` and get the one module the loader also loads — never a
second copy whose decorators would register twice.

Freshness: handler modules are compiled from source on every load and never cached as ``.pyc``,
and the previous load's ``ibhandlers.*`` modules are dropped first, so a reload sees exactly what
is on disk, even for an edit made within the same second.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import keyword
import os
import re
import sys
import threading
import traceback
import types
from collections.abc import Iterable

from trading.handlers.discovery import Discovery, HandlerFile, PathsArg, discover_handler_files
from trading.handlers.records import HandlerSet, LoadError, LoadErrorKind
from trading.handlers.registry import Collector, collecting
from trading.iblib import ib_insync_alias

NAMESPACE = "ibhandlers"
_load_lock = threading.Lock()


class _FreshSourceLoader(importlib.machinery.SourceFileLoader):
    """Compile from source every time: a stale ``.pyc`` must never win over an edited file."""

    def get_code(self, fullname: str) -> types.CodeType:
        return self.source_to_code(self.get_data(self.path), self.path)


class _HandlerFinder(importlib.abc.MetaPathFinder):
    """Resolve sibling imports inside the ``ibhandlers`` namespace with the fresh loader."""

    def find_spec(self, fullname, path, target=None):  # noqa: ANN001, ANN201 - importlib protocol
        if not fullname.startswith(NAMESPACE + ".") or not path:
            return None
        leaf = fullname.rpartition(".")[2]
        for folder in path:
            candidate = os.path.join(folder, leaf + ".py")
            if os.path.isfile(candidate):
                loader = _FreshSourceLoader(fullname, candidate)
                return importlib.util.spec_from_file_location(fullname, candidate, loader=loader)
        return None


_finder = _HandlerFinder()


def load_handlers(paths: PathsArg = None) -> HandlerSet:
    """Discover and import handler files; return their handlers and every load error.

    Never raises for a bad handler file: syntax errors, exceptions at import time and rejected
    decorators become ``LoadError`` entries, and the other files still load. A file with any
    error contributes no handlers at all, so half of a file's logic never runs alone.
    """
    discovery = discover_handler_files(paths)
    ib_insync_alias()  # on ib_async, handler files written for ib_insync import it unchanged
    with _load_lock, collecting() as collector:
        _prepare_namespace()
        names = module_names(discovery.files)
        _register_packages(list(discovery.files))
        roots = {os.path.realpath(handler_file.root) for handler_file in discovery.files}
        for handler_file in discovery.files:
            _load_file(handler_file, names[handler_file], collector, roots)
    return _handler_set(discovery, collector)


def _handler_set(discovery: Discovery, collector: Collector) -> HandlerSet:
    errors = (*discovery.errors, *collector.errors)
    failed = {error.file for error in errors} | {error.loading for error in errors}
    handlers = tuple(record for record in collector.handlers if record.source_file not in failed)
    return HandlerSet(
        handlers=handlers,
        errors=errors,
        files=tuple(handler_file.path for handler_file in discovery.files),
        paths=discovery.paths,
    )


def _prepare_namespace() -> None:
    for name in [name for name in sys.modules if name == NAMESPACE or name.startswith(NAMESPACE + ".")]:
        del sys.modules[name]
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
    importlib.invalidate_caches()  # a file added since the last load must be found
    sys.modules[NAMESPACE] = _package(NAMESPACE, [])


def module_names(files: Iterable[HandlerFile]) -> dict[HandlerFile, str]:
    """Unique dotted module names; names a sibling could ``import`` are handed out first."""
    files = list(files)
    labels = _root_labels(files)
    used = {package for handler_file in files for package in _package_names(handler_file, labels)}
    names: dict[HandlerFile, str] = {}
    importable = [handler_file for handler_file in files if _is_importable(handler_file)]
    for handler_file in importable + [f for f in files if f not in importable]:
        wanted = ".".join([_root_package(handler_file, labels), *_dotted_parts(handler_file)])
        names[handler_file] = _unique(wanted, used)
        used.add(names[handler_file])
    return names


def _root_labels(files: list[HandlerFile]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for handler_file in files:
        if str(handler_file.root) not in labels:
            label = _unique(identifier(handler_file.root.name), set(labels.values()))
            labels[str(handler_file.root)] = label
    return labels


def _root_package(handler_file: HandlerFile, labels: dict[str, str]) -> str:
    return f"{NAMESPACE}.{labels[str(handler_file.root)]}"


def _relative_parts(handler_file: HandlerFile) -> tuple[str, ...]:
    return handler_file.path.relative_to(handler_file.root).with_suffix("").parts


def _dotted_parts(handler_file: HandlerFile) -> list[str]:
    return [identifier(part) for part in _relative_parts(handler_file)]


def _is_importable(handler_file: HandlerFile) -> bool:
    return all(part == identifier(part) for part in _relative_parts(handler_file))


def _package_names(handler_file: HandlerFile, labels: dict[str, str]) -> list[str]:
    """The root package and one package per sub-folder leading to the file."""
    parts = _dotted_parts(handler_file)[:-1]
    root = _root_package(handler_file, labels)
    return [".".join([root, *parts[:depth]]) for depth in range(len(parts) + 1)]


def _register_packages(files: list[HandlerFile]) -> None:
    """Create the synthetic packages so relative imports between handler files resolve."""
    labels = _root_labels(files)
    for handler_file in files:
        folders = _relative_parts(handler_file)[:-1]
        for depth, package in enumerate(_package_names(handler_file, labels)):
            folder = str(handler_file.root.joinpath(*folders[:depth]))
            module = sys.modules.get(package) or _new_package(package)
            if folder not in module.__path__:
                module.__path__.append(folder)


def _new_package(name: str) -> types.ModuleType:
    module = _package(name, [])
    sys.modules[name] = module
    parent, _, leaf = name.rpartition(".")
    setattr(sys.modules[parent], leaf, module)
    return module


def _package(name: str, path: list[str]) -> types.ModuleType:
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = path
    module = importlib.util.module_from_spec(spec)
    module.__path__ = path
    return module


def _load_file(handler_file: HandlerFile, name: str, collector: Collector, roots: set[str]) -> None:
    existing = sys.modules.get(name)
    if existing is not None and os.path.realpath(getattr(existing, "__file__", "")) == handler_file.real:
        return  # already imported by a sibling during this load
    loader = _FreshSourceLoader(name, str(handler_file.path))
    spec = importlib.util.spec_from_file_location(name, handler_file.path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except (Exception, SystemExit) as error:  # SystemExit: a handler file must not stop the worker
        sys.modules.pop(name, None)
        collector.errors.append(import_error(error, handler_file.real, roots))
        return
    parent, _, leaf = name.rpartition(".")
    setattr(sys.modules[parent], leaf, module)


def import_error(error: BaseException, loading: str, roots: set[str]) -> LoadError:
    """Describe an import failure at the innermost line of handler code that caused it."""
    frames = _handler_frames(error.__traceback__, roots)
    if isinstance(error, SyntaxError):
        kind, message = LoadErrorKind.SYNTAX, error.msg
        file, line = (error.filename or loading), error.lineno
    else:
        kind, message = LoadErrorKind.IMPORT, str(error) or type(error).__name__
        last = frames[-1] if frames else None
        file, line = (last.tb_frame.f_code.co_filename, last.tb_lineno) if last else (loading, None)
    if isinstance(error, SyntaxError):
        text = "".join(traceback.format_exception_only(type(error), error))
    else:
        tb = frames[0] if frames else error.__traceback__
        text = "".join(traceback.format_exception(type(error), error, tb))
    return LoadError(
        kind=kind,
        file=os.path.realpath(file),
        line=line,
        message=message,
        error_type=type(error).__name__,
        traceback=text,
        loading=loading,
    )


def _handler_frames(tb: types.TracebackType | None, roots: set[str]) -> list[types.TracebackType]:
    """Traceback entries in handler code (importlib's own frames say nothing to the user)."""
    frames = []
    while tb is not None:
        file = os.path.realpath(tb.tb_frame.f_code.co_filename)
        if any(file.startswith(root + os.sep) for root in roots):
            frames.append(tb)
        tb = tb.tb_next
    return frames


_NON_WORD = re.compile(r"\W")


def identifier(name: str) -> str:
    """A valid Python identifier close to ``name`` (``my-handler`` -> ``my_handler``)."""
    text = _NON_WORD.sub("_", name) or "_"
    if text[0].isdigit():
        text = "_" + text
    return text + "_" if keyword.iskeyword(text) else text


def _unique(name: str, used: set[str]) -> str:
    candidate, number = name, 1
    while candidate in used:
        number += 1
        candidate = f"{name}_{number}"
    return candidate
