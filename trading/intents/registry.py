"""The intents the console knows: built-ins plus user intent files (INTENT_PATHS, default `intents/`).

User intent files are found with the handler discovery rules (files and folders, recursive, sorted,
de-duplicated) and imported under their own module names; a file that fails to import is reported with
its traceback and the others still load.

Every process (web, cluster, worker) keeps its registry current the same way, with no restart and no
message between them: each lookup (`intent_get`, `intent_list`, `intent_load_errors`) re-lists the
intent files and compares each file's modification time and size with what was imported. A new file
is imported, a changed one is imported again (its old intents are dropped first, so a renamed intent
does not linger), a deleted one's intents are dropped. The web process therefore lists a new file at
the next page or request, the submission path knows it when a run is submitted, and the worker knows
it when it executes the run: no process can know a file another one ignores for longer than one
lookup. Listing a folder of a few files costs well under a millisecond; the import itself happens once
per change, under a lock, so two threads never import the same file twice.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import threading
import traceback
from pathlib import Path

from trading.iblib import ib_insync_alias
from trading.intents.base import Intent

log = logging.getLogger("trading.intents")

UNKNOWN_INTENT = "unknown intent {name!r}; known intents: {known}"
_registry: dict[str, type[Intent]] = {}
_load_errors: dict[Path, dict] = {}  # by file: the latest import of that file failed
_builtins_loaded = False
_user_files: dict[Path, tuple[int, int]] = {}  # file -> (mtime_ns, size) when imported
_file_intents: dict[Path, set[str]] = {}  # file -> the intent names its import registered
_lock = threading.RLock()

BUILTIN_MODULES = (
    "trading.intents.builtin.summary",
    "trading.intents.builtin.cancel_order",
    "trading.intents.builtin.place_order",
    "trading.intents.builtin.modify_order",
    "trading.intents.builtin.close_all",
    "trading.intents.builtin.cash_balancer",
    "trading.intents.builtin.trade_reconciliation",
    "trading.intents.builtin.reconcile",
    "trading.intents.builtin.allocation",
    "trading.intents.builtin.orchestrator",
    "trading.intents.builtin.testsignalgenerator",
    "trading.intents.builtin.spy_macd_vixy",
    "trading.intents.builtin.risk_check",
    "trading.intents.builtin.eod_check",
    "trading.intents.builtin.fetch_bars",
)
DEFAULT_USER_DIR = Path(__file__).resolve().parent.parent.parent / "intents"


class IntentNotFound(LookupError):
    pass


def intent_register(cls: type[Intent]) -> type[Intent]:
    """Class decorator: make an intent available by its `name` (a later file may not shadow a name)."""
    name = getattr(cls, "name", None)
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"intent {cls.__qualname__} needs a `name` of letters, digits and underscores")
    if getattr(cls, "reads_only", False) and getattr(cls, "places_orders", False):
        raise ValueError(f"intent {name!r} cannot both read only and place orders (reads_only, places_orders)")
    existing = _registry.get(name)
    if existing is not None and (existing.__module__, existing.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"intent name {name!r} is taken by {existing.__module__}.{existing.__qualname__}")
    _registry[name] = cls
    return cls


def intent_get(name: str) -> type[Intent]:
    intents_load()
    try:
        return _registry[name]
    except KeyError:
        raise IntentNotFound(UNKNOWN_INTENT.format(name=name, known=", ".join(sorted(_registry)))) from None


def intent_list() -> list[type[Intent]]:
    intents_load()
    return [_registry[name] for name in sorted(_registry)]


def intent_load_errors() -> list[dict]:
    intents_load()
    return list(_load_errors.values())


def intents_load() -> None:
    """Import the built-ins once, then bring the user files up to date (see the module docstring)."""
    global _builtins_loaded
    with _lock:
        if not _builtins_loaded:
            for module in BUILTIN_MODULES:
                importlib.import_module(module)
            _builtins_loaded = True
        current = {path: stamp for path in user_intent_files() if (stamp := _stamp(path)) is not None}
        if current == _user_files:
            return
        for path in [path for path in _user_files if path not in current]:
            _forget(path)
        for path, stamp in current.items():
            if _user_files.get(path) != stamp:
                _forget(path)
                _import_user_file(path)
                _user_files[path] = stamp


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None  # deleted between listing and looking
    return stat.st_mtime_ns, stat.st_size


def _forget(path: Path) -> None:
    for name in _file_intents.pop(path, set()):
        _registry.pop(name, None)
    _load_errors.pop(path, None)
    _user_files.pop(path, None)


def user_intent_files() -> list[Path]:
    from django.conf import settings

    from trading.handlers import discover_handler_files

    raw = settings.INTENT_PATHS or None
    if raw is None and not DEFAULT_USER_DIR.exists():
        return []
    discovery = discover_handler_files(raw if raw is not None else str(DEFAULT_USER_DIR))
    return [Path(found.path) for found in discovery.files]


def _import_user_file(path: Path) -> None:
    ib_insync_alias()  # on ib_async, intent files written for ib_insync import it unchanged
    module_name = "console_intents." + "_".join(path.with_suffix("").parts[-3:]).replace("-", "_")
    before = set(_registry)
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        error = {"file": str(path), "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        _load_errors[path] = error
        log.error("intent file %s failed to load: %s\n%s", path, error["error"], error["traceback"])
    finally:
        # What it registered, even before a later line failed: forgotten with the file.
        _file_intents[path] = {name for name in _registry if name not in before or _registry[name].__module__ == module_name}
