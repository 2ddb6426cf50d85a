"""``HandlerManager``: the one owner of the handler set bound to an ``IB``, and its reloads.

The IB worker keeps one manager for the life of its ``IB`` object. ``reload()`` loads fresh from
disk, then unbinds the old set and binds the new one with no ``await`` in between, so no event is
missed or delivered to both sets, and the connection is never touched. A reload whose load has
errors still binds every good file; the errors are logged and handed to the reporter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from trading.handlers import reporting
from trading.handlers.binding import Binding, BindOptions
from trading.handlers.discovery import PathsArg
from trading.handlers.loader import load_handlers
from trading.handlers.records import HandlerSet, LoadError
from trading.iblib import IB

Loader = Callable[[PathsArg], HandlerSet]


class HandlerManager:
    """Load, bind, reload and report the handlers of one ``IB`` instance.

    ``paths`` as for ``load_handlers`` (None: ``IB_DAEMON_HANDLERS`` or the project's
    ``handlers/``), read again at every reload. Binding options (``reporter``, ``slow_budget``,
    ``async_slow_budget``, ``report_interval``, ``clock``) are given as ``options`` or keywords.
    Call ``reload``/``install`` on the thread running the IB event loop (or use ``reload_async``
    from it): events are emitted there, and the swap relies on nothing running in between.
    """

    def __init__(
        self,
        ib: IB,
        paths: PathsArg = None,
        *,
        options: BindOptions | None = None,
        loader: Loader = load_handlers,
        **option_fields: Any,
    ) -> None:
        self.ib = ib
        self.paths = paths
        self.options = options or BindOptions(**option_fields)
        self.handler_set: HandlerSet | None = None
        self.binding: Binding | None = None
        self.loads = 0
        self._loader = loader
        self._retired: list[Binding] = []

    @property
    def load_errors(self) -> tuple[LoadError, ...]:
        return self.handler_set.errors if self.handler_set else ()

    def reload(self) -> HandlerSet:
        """Load from disk on this thread and swap the bound set; returns the new set."""
        return self.install(self._loader(self.paths))

    async def reload_async(self) -> HandlerSet:
        """Like ``reload`` but reads and imports the files in a worker thread.

        The swap itself still happens on the event loop. Import-time code of handler files then
        runs off the loop thread, which is one more reason for it to do nothing but define.
        """
        handler_set = await asyncio.to_thread(self._loader, self.paths)
        return self.install(handler_set)

    def install(self, handler_set: HandlerSet) -> HandlerSet:
        """Replace the bound set with ``handler_set`` (unbind old, bind new, report errors)."""
        for error in handler_set.errors:
            reporting.log_load_error(error)
            reporting.notify(self.options.reporter, "on_load_error", error)
        new = Binding(self.ib, handler_set, self.options)
        old, self.binding = self.binding, new
        if old is not None:
            old.unbind()
            self._retired.append(old)  # its running tasks stay referenced until they finish
        new.connect()
        self.handler_set = handler_set
        self.loads += 1
        self._retired = [binding for binding in self._retired if binding.pending]
        reporting.logger.info(
            "IB handlers bound: %d handler(s) from %d file(s), %d load error(s)",
            len(handler_set.handlers),
            len(handler_set.files),
            len(handler_set.errors),
        )
        return handler_set

    def close(self) -> None:
        """Unbind the current set (running async handlers are left to finish)."""
        if self.binding is not None:
            self.binding.unbind()
            self._retired.append(self.binding)
            self.binding = None

    @property
    def pending(self) -> int:
        return sum(binding.pending for binding in self._bindings())

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait for running async handlers of the current and retired sets."""
        results = [await binding.drain(timeout) for binding in self._bindings()]
        self._retired = [binding for binding in self._retired if binding.pending]
        return all(results)

    def stats(self) -> list[dict[str, Any]]:
        """Per-handler plain dicts: event, name, file, line, is_async, calls, errors, slow, ms."""
        return self.binding.stats() if self.binding else []

    def snapshot(self) -> dict[str, Any]:
        """Everything the heartbeat or admin shows, as JSON-ready plain data."""
        handler_set = self.handler_set or HandlerSet()
        return {
            "bound": bool(self.binding and self.binding.bound),
            "loads": self.loads,
            "loaded_at": handler_set.loaded_at.isoformat() if self.handler_set else None,
            "paths": list(handler_set.paths),
            "files": [str(path) for path in handler_set.files],
            "handlers": self.stats(),
            "load_errors": [error.to_dict() for error in handler_set.errors],
            "pending_tasks": self.pending,
            "slow_budget_ms": self.options.slow_budget * 1000,
        }

    def _bindings(self) -> list[Binding]:
        return [*self._retired, *([self.binding] if self.binding else [])]
