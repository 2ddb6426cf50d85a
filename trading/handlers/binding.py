"""Connect a ``HandlerSet`` to the events of a live ``ib_insync.IB`` and measure every call.

Each handler is wrapped before it is connected, because eventkit on its own only logs an
exception and drops a coroutine into the loop unreferenced (the loop keeps weak references only,
so a pending task can vanish). The wrapper:

* calls sync handlers as ``handler(ib, *event_args)``, catching what they raise so the other
  handlers of the event and the ib_insync loop carry on;
* schedules async handlers as tasks kept in ``Binding.tasks`` until they finish, timing them to
  completion and catching their exceptions the same way;
* counts calls, errors, slow calls and durations, and reports errors and slow calls through
  ``logging`` and the reporter (rate-limited per handler).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from trading.handlers import reporting
from trading.handlers.records import HandlerRecord, HandlerSet
from trading.iblib import IB, util

DEFAULT_SLOW_BUDGET = 0.05


@dataclass
class BindOptions:
    """How bound handlers are measured and reported.

    ``async_slow_budget`` applies to async handlers, whose duration is the time to completion
    (awaiting IB requests included); None means the same as ``slow_budget``.
    """

    reporter: object | None = None
    slow_budget: float = DEFAULT_SLOW_BUDGET
    async_slow_budget: float | None = None
    report_interval: float = reporting.DEFAULT_REPORT_INTERVAL
    clock: Callable[[], float] = time.perf_counter

    def budget_for(self, record: HandlerRecord) -> float:
        if record.is_async and self.async_slow_budget is not None:
            return self.async_slow_budget
        return self.slow_budget


@dataclass
class HandlerStats:
    """Counters for one bound handler; durations are in seconds."""

    calls: int = 0
    errors: int = 0
    slow: int = 0
    completed: int = 0
    total_duration: float = 0.0
    max_duration: float = 0.0
    last_error: dict[str, Any] | None = None

    @property
    def mean_duration(self) -> float:
        return self.total_duration / self.completed if self.completed else 0.0

    def observe(self, duration: float) -> None:
        self.completed += 1
        self.total_duration += duration
        self.max_duration = max(self.max_duration, duration)

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "errors": self.errors,
            "slow_calls": self.slow,
            "completed": self.completed,
            "mean_ms": round(self.mean_duration * 1000, 3),
            "max_ms": round(self.max_duration * 1000, 3),
            "last_error": dict(self.last_error) if self.last_error else None,
        }


class BoundHandler:
    """The callable actually connected to the ib_insync event for one handler record."""

    def __init__(self, record: HandlerRecord, binding: Binding) -> None:
        self.record = record
        self.stats = HandlerStats()
        self._binding = binding

    def __call__(self, *args: Any) -> None:
        self.stats.calls += 1
        clock = self._binding.options.clock
        start = clock()
        try:
            result = self.record.func(self._binding.ib, *args)
        except (Exception, SystemExit) as exc:  # SystemExit: the seed's kill switch killed its thread
            self.failed(exc, clock() - start)
            return
        if inspect.isawaitable(result):
            self._binding.track(self, result, start)
        else:
            self.finished(clock() - start)

    async def run(self, awaitable: Awaitable[Any], start: float) -> None:
        """Await an async handler's result, accounting for it like a sync call."""
        clock = self._binding.options.clock
        try:
            await awaitable
        except asyncio.CancelledError:
            raise
        except (Exception, SystemExit) as exc:
            self.failed(exc, clock() - start)
        else:
            self.finished(clock() - start)

    def finished(self, duration: float) -> None:
        self.stats.observe(duration)
        budget = self._binding.options.budget_for(self.record)
        if duration > budget:
            self.stats.slow += 1
            self._binding.report_slow(self.record, duration, budget)

    def failed(self, exc: BaseException, duration: float) -> None:
        self.stats.observe(duration)
        self.stats.errors += 1
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.stats.last_error = {
            "type": type(exc).__name__,
            "message": str(exc),
            "traceback": tb,
            "time": dt.datetime.now(dt.UTC).isoformat(),
        }
        self._binding.report_error(self.record, exc, tb)

    def to_dict(self) -> dict[str, Any]:
        return {**self.record.to_dict(), **self.stats.to_dict()}


class Binding:
    """One handler set connected to one ``IB``; ``unbind()`` disconnects it again."""

    def __init__(self, ib: IB, handler_set: HandlerSet, options: BindOptions | None = None) -> None:
        self.ib = ib
        self.handler_set = handler_set
        self.options = options or BindOptions()
        self.handlers = [BoundHandler(record, self) for record in handler_set.handlers]
        self.tasks: set[asyncio.Task[None]] = set()
        self.bound = False
        self._limiter = reporting.RateLimiter(self.options.report_interval)

    def connect(self) -> None:
        """Connect every handler to its event, in load order."""
        if self.bound:
            return
        for handler in self.handlers:
            getattr(self.ib, handler.record.attr).connect(handler, keep_ref=True)
        self.bound = True

    def unbind(self) -> None:
        """Disconnect every handler; tasks already running are left to finish and still counted."""
        if not self.bound:
            return
        for handler in self.handlers:
            getattr(self.ib, handler.record.attr).disconnect(handler)
        self.bound = False

    @property
    def pending(self) -> int:
        return len(self.tasks)

    def track(self, handler: BoundHandler, awaitable: Awaitable[Any], start: float) -> None:
        """Run an async handler as a task that stays referenced until it is done."""
        task = _loop().create_task(handler.run(awaitable, start), name=f"ib-handler:{handler.record.name}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait for running async handlers; True when none is left."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=timeout)
        return not self.tasks

    def stats(self) -> list[dict[str, Any]]:
        """Plain dicts per handler (record fields plus counters) for heartbeat and admin."""
        return [handler.to_dict() for handler in self.handlers]

    def report_error(self, record: HandlerRecord, exc: BaseException, tb: str) -> None:
        allowed, suppressed = self._limiter.allow((record, "error"))
        if allowed:
            reporting.log_handler_error(record, exc, suppressed)
            reporting.notify(self.options.reporter, "on_error", record, exc, tb)

    def report_slow(self, record: HandlerRecord, duration: float, budget: float) -> None:
        allowed, suppressed = self._limiter.allow((record, "slow"))
        if allowed:
            reporting.log_slow_handler(record, duration, budget, suppressed)
            reporting.notify(self.options.reporter, "on_slow", record, duration)


def _loop() -> asyncio.AbstractEventLoop:
    """The running loop, or ib_insync's loop when an event is emitted outside one."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return util.getLoop()


def bind(ib: IB, handler_set: HandlerSet, options: BindOptions | None = None, **kwargs: Any) -> Binding:
    """Connect ``handler_set`` to ``ib``'s events and return the ``Binding`` (keep it to unbind).

    Options may be given as a ``BindOptions`` or as its fields by keyword
    (``reporter=``, ``slow_budget=``, ``async_slow_budget=``, ``report_interval=``, ``clock=``).
    """
    binding = Binding(ib, handler_set, options or BindOptions(**kwargs))
    binding.connect()
    return binding


def unbind(binding: Binding) -> None:
    """Disconnect a binding made by ``bind``; calling it twice is harmless."""
    binding.unbind()
