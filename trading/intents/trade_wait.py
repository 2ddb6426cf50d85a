"""Waiting on IB's order status events without missing one.

`await asyncio.wait_for(trade.statusEvent, t)` looks right and loses events: wait_for wraps the
event in a task whose first step (where eventkit connects its listener) runs on a later loop turn,
and a status IB already sent (the socket's data callback queued ahead of that step) is emitted to
nobody. The run then sits out its whole timeout on an order that filled long ago. Here the listener
is connected before anything yields, and a flag it sets is what the loop waits on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def trades_wait(trades, until: Callable[[object], bool], timeout: float) -> list:
    """Wait until `until(trade)` holds for every trade or `timeout` seconds pass; return the trades
    for which it still does not hold. Woken by each trade's statusEvent (no fixed sleep)."""
    changed = asyncio.Event()

    def on_status(*_args) -> None:
        changed.set()

    for trade in trades:
        trade.statusEvent += on_status
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            pending = [t for t in trades if not until(t)]
            remaining = deadline - loop.time()
            if not pending or remaining <= 0:
                return pending
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                pass
    finally:
        for trade in trades:
            trade.statusEvent -= on_status
