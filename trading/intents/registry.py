"""The intents the console knows: built-ins plus user intent files (INTENT_PATHS, default `intents/`).

User intent files are found with the handler discovery rules (files and folders, recursive, sorted,
de-duplicated) and imported under their own module names; a file that fails to import is reported with
its traceback and the others still load.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import traceback
from pathlib import Path

from trading.intents.base import Intent

log = logging.getLogger("trading.intents")

UNKNOWN_INTENT = "unknown intent {name!r}; known intents: {known}"
_registry: dict[str, type[Intent]] = {}
_load_errors: list[dict] = []
_loaded = False

BUILTIN_MODULES = (
    "trading.intents.builtin.summary",
    "trading.intents.builtin.cancel_order",
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
)
DEFAULT_USER_DIR = Path(__file__).resolve().parent.parent.parent / "intents"


class IntentNotFound(LookupError):
    pass


def intent_register(cls: type[Intent]) -> type[Intent]:
    """Class decorator: make an intent available by its `name` (a later file may not shadow a name)."""
    name = getattr(cls, "name", None)
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"intent {cls.__qualname__} needs a `name` of letters, digits and underscores")
    existing = _registry.get(name)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
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
    return list(_load_errors)


def intents_load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for path in user_intent_files():
        _import_user_file(path)


def user_intent_files() -> list[Path]:
    from django.conf import settings

    from trading.handlers import discover_handler_files

    raw = settings.INTENT_PATHS or None
    if raw is None and not DEFAULT_USER_DIR.exists():
        return []
    discovery = discover_handler_files(raw if raw is not None else str(DEFAULT_USER_DIR))
    return [Path(found.path) for found in discovery.files]


def _import_user_file(path: Path) -> None:
    module_name = "console_intents." + "_".join(path.with_suffix("").parts[-3:]).replace("-", "_")
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        error = {"file": str(path), "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        _load_errors.append(error)
        log.error("intent file %s failed to load: %s\n%s", path, error["error"], error["traceback"])
