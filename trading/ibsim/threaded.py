"""A paper gateway on a background thread with its own event loop, for synchronous code.

::

    with run_in_thread(seed=1, port=0) as gateway:
        ib = IB()
        ib.connect("127.0.0.1", gateway.port, clientId=1)
        gateway.set_price("SPY", 100)

Every method of :class:`ThreadedGateway` is safe to call from any thread: it runs the gateway
method on the gateway's loop and returns its result.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from trading.ibsim.server import PaperGateway


def _on_loop(name: str):
    """A method that runs the gateway's method ``name`` on its loop and returns the result."""

    def call(self, *args, **kwargs):
        return self.call(getattr(self.gateway, name), *args, **kwargs)

    call.__name__ = name
    call.__doc__ = getattr(PaperGateway, name).__doc__
    return call


def _on_loop_async(name: str):
    def call(self, *args, **kwargs):
        return self.run(getattr(self.gateway, name)(*args, **kwargs))

    call.__name__ = name
    call.__doc__ = getattr(PaperGateway, name).__doc__
    return call


class ThreadedGateway:
    """A :class:`PaperGateway` on a background thread; every method here is thread-safe."""

    def __init__(self, **config) -> None:
        self._config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ibsim", daemon=True)
        self.gateway: PaperGateway | None = None

    def start(self, timeout: float = 10.0) -> ThreadedGateway:
        self._thread.start()
        try:
            self.gateway = self.run(self._create(), timeout)
        except BaseException:
            self.stop(timeout)
            raise
        return self

    async def _create(self) -> PaperGateway:
        return await PaperGateway(**self._config).start()

    def stop(self, timeout: float = 10.0) -> None:
        if self.gateway is not None:
            self.run(self.gateway.stop(), timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._loop.close()

    def run(self, coroutine, timeout: float | None = 30.0):
        """Run a coroutine on the gateway's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def call(self, function, *args, **kwargs):
        """Run a plain function on the gateway's loop and return its result."""

        async def wrapper():
            return function(*args, **kwargs)

        return self.run(wrapper())

    @property
    def port(self) -> int:
        return self.gateway.port

    @property
    def account_id(self) -> str:
        return self.gateway.account.account_id

    quote = _on_loop("quote")
    set_price = _on_loop("set_price")
    move_price = _on_loop("move_price")
    step_market = _on_loop("step_market")
    set_tick_interval = _on_loop("set_tick_interval")
    market_close = _on_loop("market_close")
    market_open = _on_loop("market_open")
    set_clock = _on_loop("set_clock")
    set_partial_fills = _on_loop("set_partial_fills")
    reject_next_order = _on_loop("reject_next_order")
    external_trade = _on_loop("external_trade")
    drop_connections = _on_loop("drop_connections")
    set_reply_delay = _on_loop("set_reply_delay")
    inject_pacing_violation = _on_loop("inject_pacing_violation")
    set_message_rate_limit = _on_loop("set_message_rate_limit")
    positions = _on_loop("positions")
    cash = _on_loop("cash")
    open_orders = _on_loop("open_orders")
    orders = _on_loop("orders")
    executions = _on_loop("executions")
    connected_clients = _on_loop("connected_clients")
    status = _on_loop("status")
    save_state = _on_loop("save_state")
    restart = _on_loop_async("restart")
    wait_until_up = _on_loop_async("wait_until_up")
    connectivity_lost = _on_loop_async("connectivity_lost")


@contextlib.contextmanager
def run_in_thread(**config) -> Iterator[ThreadedGateway]:
    """Start a gateway in a background thread for the duration of the ``with`` block."""
    threaded = ThreadedGateway(**config).start()
    try:
        yield threaded
    finally:
        threaded.stop()
