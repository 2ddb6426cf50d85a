"""``initialize_ib()``: one call for scripts to get a connected ``IB`` with handlers bound.

Handlers are bound *before* connecting so the events of the initial sync (open orders,
positions, account values, ``connected``) reach them too. The manager is reachable as
``ib.handler_manager`` for reloads and stats.

Scripts that run next to the IB worker must use their own client id: IB refuses a second
connection with the same id, and orders belong to the client id that placed them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable
from typing import Any

from trading.handlers.discovery import PathsArg
from trading.handlers.manager import HandlerManager
from trading.handlers.records import LoadError
from trading.iblib import IB

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4002  # IB Gateway, paper account
DEFAULT_CLIENT_ID = 1

Connect = Callable[[IB, str, int, int], Any]
AsyncConnect = Callable[[IB, str, int, int], Awaitable[Any]]


class HandlerLoadFailed(RuntimeError):
    """Raised by ``initialize_ib(strict=True)`` when any handler file failed to load."""

    def __init__(self, errors: tuple[LoadError, ...]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))


def connection_settings(
    host: str | None = None, port: int | None = None, client_id: int | None = None
) -> tuple[str, int, int]:
    """Fill what the caller left out from ``IB_HOST``, ``IB_PORT``, ``IB_CLIENT_ID``, then defaults."""
    host = host or os.environ.get("IB_HOST") or DEFAULT_HOST
    port = port if port is not None else _env_int("IB_PORT", DEFAULT_PORT)
    client_id = client_id if client_id is not None else _env_int("IB_CLIENT_ID", DEFAULT_CLIENT_ID)
    return host, port, client_id


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


def _connect(ib: IB, host: str, port: int, client_id: int, **kwargs: Any) -> None:
    ib.connect(host, port, clientId=client_id, **kwargs)


async def _connect_async(ib: IB, host: str, port: int, client_id: int, **kwargs: Any) -> None:
    await ib.connectAsync(host, port, clientId=client_id, **kwargs)


def _prepare(ib: IB | None, paths: PathsArg, strict: bool, manager_options: dict[str, Any]) -> IB:
    """Create the IB if needed, bind discovered handlers and attach the manager."""
    ib = ib if ib is not None else IB()
    manager = HandlerManager(ib, paths, **manager_options)
    handler_set = manager.reload()
    if strict and handler_set.errors:
        manager.close()
        raise HandlerLoadFailed(handler_set.errors)
    ib.handler_manager = manager
    return ib


def initialize_ib(
    host: str | None = None,
    port: int | None = None,
    client_id: int | None = None,
    paths: PathsArg = None,
    *,
    ib: IB | None = None,
    connect: Connect | None = None,
    strict: bool = False,
    timeout: float = 4.0,
    readonly: bool = False,
    account: str = "",
    **manager_options: Any,
) -> IB:
    """Create (or take) an ``IB``, bind the discovered handlers, connect, and return it.

    ``ib.handler_manager`` is the ``HandlerManager``. ``connect(ib, host, port, client_id)``
    replaces ``ib.connect`` (tests, custom retry). ``strict=True`` raises ``HandlerLoadFailed``
    instead of binding only the good files. Other keywords go to ``HandlerManager``
    (``reporter``, ``slow_budget``, ...). If connecting fails the handlers are unbound again.
    """
    ib = _prepare(ib, paths, strict, manager_options)
    connect = connect or functools.partial(_connect, timeout=timeout, readonly=readonly, account=account)
    try:
        connect(ib, *connection_settings(host, port, client_id))
    except BaseException:
        ib.handler_manager.close()
        raise
    return ib


async def initialize_ib_async(
    host: str | None = None,
    port: int | None = None,
    client_id: int | None = None,
    paths: PathsArg = None,
    *,
    ib: IB | None = None,
    connect: AsyncConnect | None = None,
    strict: bool = False,
    timeout: float = 4.0,
    readonly: bool = False,
    account: str = "",
    **manager_options: Any,
) -> IB:
    """The ``async`` twin of ``initialize_ib`` (uses ``ib.connectAsync``)."""
    ib = _prepare(ib, paths, strict, manager_options)
    connect = connect or functools.partial(
        _connect_async, timeout=timeout, readonly=readonly, account=account
    )
    try:
        await connect(ib, *connection_settings(host, port, client_id))
    except BaseException:
        ib.handler_manager.close()
        raise
    return ib
