"""IB event handlers: plain Python files, found on disk, bound to a live ``ib_insync.IB``.

A handler file::

    from trading.handlers import IBEventRegistry

    @IBEventRegistry.collect('orderStatus')
    def log_status(ib, trade):
        ...

The pieces, in the order they run (see docs/HANDLERS.md):

* ``discover_handler_files`` — which files (``IB_DAEMON_HANDLERS`` or the project's ``handlers/``);
* ``load_handlers`` — import them, each under its own module name, into a fresh ``HandlerSet``;
* ``bind`` / ``unbind`` — connect a set to an ``IB``'s events with error capture and stats;
* ``HandlerManager`` — owns the bound set of one ``IB``; ``reload()``, ``stats()``, ``snapshot()``;
* ``initialize_ib`` / ``initialize_ib_async`` — connect and bind in one call for scripts.

Plain Python and the IB client library (trading/iblib.py) only: importing this package needs no Django settings.
"""

from trading.handlers.binding import (
    DEFAULT_SLOW_BUDGET,
    Binding,
    BindOptions,
    BoundHandler,
    HandlerStats,
    bind,
    unbind,
)
from trading.handlers.bootstrap import (
    HandlerLoadFailed,
    connection_settings,
    initialize_ib,
    initialize_ib_async,
)
from trading.handlers.discovery import (
    DEFAULT_HANDLERS_DIR,
    ENV_VAR,
    Discovery,
    HandlerFile,
    configured_paths,
    discover_handler_files,
)
from trading.handlers.events import EVENTS, EventSpec, UnknownEventError, accepted_names, resolve_event
from trading.handlers.listing import error_lines, listing_lines
from trading.handlers.loader import NAMESPACE, load_handlers
from trading.handlers.manager import HandlerManager
from trading.handlers.records import HandlerRecord, HandlerSet, LoadError, LoadErrorKind
from trading.handlers.registry import HandlerDefinitionError, IBEventRegistry, collecting
from trading.handlers.reporting import CallbackReporter, HandlerReporter

__all__ = [
    "DEFAULT_HANDLERS_DIR",
    "DEFAULT_SLOW_BUDGET",
    "ENV_VAR",
    "EVENTS",
    "NAMESPACE",
    "Binding",
    "BindOptions",
    "BoundHandler",
    "CallbackReporter",
    "Discovery",
    "EventSpec",
    "HandlerDefinitionError",
    "HandlerFile",
    "HandlerLoadFailed",
    "HandlerManager",
    "HandlerRecord",
    "HandlerReporter",
    "HandlerSet",
    "HandlerStats",
    "IBEventRegistry",
    "LoadError",
    "LoadErrorKind",
    "UnknownEventError",
    "accepted_names",
    "bind",
    "collecting",
    "configured_paths",
    "connection_settings",
    "discover_handler_files",
    "error_lines",
    "initialize_ib",
    "initialize_ib_async",
    "listing_lines",
    "load_handlers",
    "resolve_event",
    "unbind",
]
