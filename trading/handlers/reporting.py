"""How handler failures leave this package: the ``logging`` module and an optional reporter.

The seed dropped handler exceptions silently. Here every failure is logged with file, handler
name and traceback, and handed to a reporter the IB worker supplies (to write activity rows and
push live events). A handler that fails on every tick must not flood the log or the database, so
reports are rate-limited per handler while the counters in the stats keep every occurrence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from trading.handlers.records import HandlerRecord, LoadError

logger = logging.getLogger("trading.handlers")

DEFAULT_REPORT_INTERVAL = 10.0


class HandlerReporter:
    """Receives handler problems; subclass and override what you need (defaults do nothing).

    Called on the thread that runs the IB event loop, so implementations must not block: queue
    the work (``asyncio.create_task``, ``asyncio.to_thread``) rather than write to a database.
    An exception raised here is logged and otherwise ignored.
    """

    def on_load_error(self, error: LoadError) -> None:
        """A handler file or path failed to load."""

    def on_error(self, record: HandlerRecord, exc: BaseException, tb: str) -> None:
        """A handler raised; ``tb`` is the formatted traceback."""

    def on_slow(self, record: HandlerRecord, duration: float) -> None:
        """A handler took ``duration`` seconds, more than its budget."""


class CallbackReporter(HandlerReporter):
    """A reporter built from plain callables, for callers that prefer functions to a subclass."""

    def __init__(
        self,
        *,
        on_load_error: Callable[[LoadError], Any] | None = None,
        on_error: Callable[[HandlerRecord, BaseException, str], Any] | None = None,
        on_slow: Callable[[HandlerRecord, float], Any] | None = None,
    ) -> None:
        self._on_load_error = on_load_error
        self._on_error = on_error
        self._on_slow = on_slow

    def on_load_error(self, error: LoadError) -> None:
        if self._on_load_error:
            self._on_load_error(error)

    def on_error(self, record: HandlerRecord, exc: BaseException, tb: str) -> None:
        if self._on_error:
            self._on_error(record, exc, tb)

    def on_slow(self, record: HandlerRecord, duration: float) -> None:
        if self._on_slow:
            self._on_slow(record, duration)


def notify(reporter: object | None, method: str, *args: Any) -> None:
    """Call ``reporter.method(*args)`` if it exists; a failing reporter never breaks a handler."""
    callback = getattr(reporter, method, None) if reporter is not None else None
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:
        logger.exception("handler reporter %s.%s failed", type(reporter).__name__, method)


class RateLimiter:
    """Let one report per key through every ``interval`` seconds and count the ones held back."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: dict[object, float] = {}
        self._held: dict[object, int] = {}

    def allow(self, key: object) -> tuple[bool, int]:
        """Return (report now?, reports suppressed since the last one let through)."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._held[key] = self._held.get(key, 0) + 1
            return False, 0
        self._last[key] = now
        return True, self._held.pop(key, 0)


def log_load_error(error: LoadError) -> None:
    detail = f"\n{error.traceback}" if error.traceback else ""
    logger.error("IB handler load failed: %s%s", error, detail)


def log_handler_error(record: HandlerRecord, exc: BaseException, suppressed: int) -> None:
    logger.error(
        "IB handler %s (%s) raised on %s%s",
        record.name,
        record.location,
        record.event,
        _suppressed(suppressed),
        exc_info=(type(exc), exc, exc.__traceback__),
    )


def log_slow_handler(record: HandlerRecord, duration: float, budget: float, suppressed: int) -> None:
    logger.warning(
        "IB handler %s (%s) on %s took %.1f ms, budget %.1f ms%s",
        record.name,
        record.location,
        record.event,
        duration * 1000,
        budget * 1000,
        _suppressed(suppressed),
    )


def _suppressed(count: int) -> str:
    return f" ({count} similar reports suppressed)" if count else ""
