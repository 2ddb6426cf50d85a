"""The decorator handler files use, and the per-load collector it records into.

``@IBEventRegistry.collect('orderStatus')`` validates the handler where it is written (event name,
signature, sync/async) and records it into the collector of the load in progress. There is no
global list: every ``load_handlers()`` opens its own collector, so a reload starts empty and a
handler deleted from disk is really gone.

Outside a load (a handler file imported by a user's own unit test) the decorator still validates,
raising ``HandlerDefinitionError``, and returns the function unchanged.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from trading.handlers.events import EventSpec, UnknownEventError, resolve_event
from trading.handlers.records import HandlerRecord, LoadError, LoadErrorKind

F = TypeVar("F", bound=Callable[..., Any])

_PLACEHOLDER = object()


class HandlerDefinitionError(ValueError):
    """A handler that cannot be bound as written; the message starts with ``file:line``."""

    def __init__(self, message: str, *, file: str, line: int | None, handler: str = "") -> None:
        self.file = file
        self.line = line
        self.handler = handler
        self.reason = message
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")

    def to_load_error(self) -> LoadError:
        return LoadError(
            kind=LoadErrorKind.DEFINITION,
            file=self.file,
            line=self.line,
            message=self.reason,
            error_type=type(self).__name__,
            loading=self.file,
        )


@dataclass
class Collector:
    """What one load has gathered so far."""

    handlers: list[HandlerRecord] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)

    def add(self, record: HandlerRecord) -> None:
        # A module executed twice in one load (odd import paths) must not bind twice.
        key = (record.source_file, record.line, record.name, record.attr)
        if all((h.source_file, h.line, h.name, h.attr) != key for h in self.handlers):
            self.handlers.append(record)


_active: ContextVar[Collector | None] = ContextVar("ib_handler_collector", default=None)


@contextmanager
def collecting() -> Iterator[Collector]:
    """Make a fresh collector current for the duration of a load."""
    collector = Collector()
    token = _active.set(collector)
    try:
        yield collector
    finally:
        _active.reset(token)


class IBEventRegistry:
    """Namespace for the ``collect`` decorator (kept as a class for the seed's spelling)."""

    @classmethod
    def collect(cls, event: str, *, is_async: bool | None = None) -> Callable[[F], F]:
        """Register the decorated function as a handler of ``event``.

        ``event`` is an ib_insync event name with or without the ``Event`` suffix
        (``'orderStatus'`` or ``'orderStatusEvent'``). The handler is called as
        ``handler(ib, *event_args)``. ``is_async`` may be left out: ``async def`` handlers are
        detected. Given explicitly, it must agree with the function, otherwise an ``async def``
        would never be awaited or a plain function would be scheduled as a task.
        """
        if not isinstance(event, str):
            raise TypeError("use @IBEventRegistry.collect('orderStatus'), with the event name")
        caller = sys._getframe(1)
        fallback = (caller.f_code.co_filename, caller.f_lineno)

        def decorator(func: F) -> F:
            collector = _active.get()
            try:
                record = build_record(func, event, is_async, fallback)
            except HandlerDefinitionError as error:
                if collector is None:
                    raise
                collector.errors.append(error.to_load_error())
                return func
            if collector is not None:
                collector.add(record)
            return func

        return decorator


def build_record(
    func: Callable[..., Any], event: str, is_async: bool | None, fallback: tuple[str, int]
) -> HandlerRecord:
    """Validate ``func`` as a handler of ``event`` and describe it."""
    file, line = _location(func, fallback)
    name = getattr(func, "__qualname__", None) or repr(func)

    def fail(message: str) -> HandlerDefinitionError:
        return HandlerDefinitionError(f"handler {name}: {message}", file=file, line=line, handler=name)

    if not callable(func):
        raise fail("is not callable")
    try:
        spec = resolve_event(event)
    except UnknownEventError as error:
        raise fail(str(error)) from None
    detected = inspect.iscoroutinefunction(func)
    if is_async is True and not detected:
        raise fail("is_async=True but it is not an 'async def' function")
    if is_async is False and detected:
        raise fail("is an 'async def' function; pass is_async=True or leave is_async out")
    _check_signature(func, spec, fail)
    return HandlerRecord(
        event=spec.name,
        attr=spec.attr,
        name=name,
        module=getattr(func, "__module__", "") or "",
        source_file=file,
        line=line,
        is_async=detected,
        func=func,
    )


def _location(func: Callable[..., Any], fallback: tuple[str, int]) -> tuple[str, int]:
    """File and first line (the decorator line for decorated functions) of ``func``."""
    code = getattr(inspect.unwrap(func), "__code__", None) if callable(func) else None
    file, line = (code.co_filename, code.co_firstlineno) if code else fallback
    return os.path.realpath(file), line


def _check_signature(func: Callable[..., Any], spec: EventSpec, fail: Callable[[str], Exception]) -> None:
    """Bind placeholder arguments the way the event will call the handler."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return  # builtins and some C callables have no signature; the call itself will tell
    if spec.arity is None:
        # ib_insync did not document this payload: only insist on the leading ``ib``.
        if not _takes_positional(signature, 1):
            raise fail(f"signature {signature} must take at least the ib argument")
        return
    try:
        signature.bind(*[_PLACEHOLDER] * (1 + spec.arity))
    except TypeError as error:
        expected = spec.describe()
        raise fail(f"signature {signature} cannot be called as {expected}: {error}") from None


def _takes_positional(signature: inspect.Signature, count: int) -> bool:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return True
    return sum(p.kind in kinds for p in params) >= count
