"""A benchmark-only handler file: stamps when handlers are called, and subscribes the worker to ticks.

Bound next to the example handlers (top-level handlers/). On connect it asks for streaming market data
for the symbols in ``BENCH_SYMBOLS`` (comma-separated); then it records, per volume tick, the symbol,
the cumulative volume (the gateway stamps the same pair when it sends the quote) and the time its
handler ran, per execution its execId and time, and the time of every IB order/fill event the worker
receives (openOrder, orderStatus, execDetails, commissionReport: what "order/fill events/s" counts).
``$BENCH_OUT/handlers-<pid>.json`` at exit.
"""

import atexit
import json
import os
import time
from pathlib import Path

from trading.handlers import IBEventRegistry
from trading.iblib import Stock

VOLUME = 8
KEEP = os.environ.get("BENCH_STAMPS", "1") != "0"  # off for the memory benchmark: stamps would grow the heap
ticks: list[tuple[str, float, float]] = []
executions: list[tuple[str, float]] = []
tick_events: list[tuple[float, int]] = []  # (time, ticks in the event)
order_events: list[float] = []  # times of openOrder, orderStatus, execDetails, commissionReport
counts = {"ticks": 0, "order_events": 0, "at": 0.0}  # always kept (constant size): the rate the worker got


def _count(ticks_in: int = 0, order_events_in: int = 0) -> None:
    """Running totals, written to $BENCH_OUT/probe-counts-<pid>.json every 5 s (the memory bench reads it)."""
    counts["ticks"] += ticks_in
    counts["order_events"] += order_events_in
    now = time.time()
    out = os.environ.get("BENCH_OUT")
    if out and now - counts["at"] >= 5.0:
        counts["at"] = now
        Path(out, f"probe-counts-{os.getpid()}.json").write_text(json.dumps(counts))


@IBEventRegistry.collect("connected")
def subscribe(ib) -> None:
    for symbol in filter(None, os.environ.get("BENCH_SYMBOLS", "").split(",")):
        ib.reqMktData(Stock(symbol, "SMART", "USD"))


@IBEventRegistry.collect("pendingTickers")
def stamp_ticks(ib, tickers) -> None:
    _count(ticks_in=sum(len(ticker.ticks) for ticker in tickers))
    if not KEEP:
        return
    now = time.time()
    tick_events.append((now, sum(len(ticker.ticks) for ticker in tickers)))
    for ticker in tickers:
        symbol = ticker.contract.symbol
        for tick in ticker.ticks:
            if tick.tickType == VOLUME:
                ticks.append((symbol, tick.size, now))


@IBEventRegistry.collect("execDetails")
def stamp_execution(ib, trade, fill) -> None:
    _count(order_events_in=1)
    if KEEP:
        now = time.time()
        executions.append((fill.execution.execId, now))
        order_events.append(now)


@IBEventRegistry.collect("openOrder")
def stamp_open_order(ib, trade) -> None:
    _count(order_events_in=1)
    if KEEP:
        order_events.append(time.time())


@IBEventRegistry.collect("orderStatus")
def stamp_order_status(ib, trade) -> None:
    _count(order_events_in=1)
    if KEEP:
        order_events.append(time.time())


@IBEventRegistry.collect("commissionReport")
def stamp_commission(ib, trade, fill, report) -> None:
    _count(order_events_in=1)
    if KEEP:
        order_events.append(time.time())


def _dump() -> None:
    out = os.environ.get("BENCH_OUT")
    if out:
        data = {"ticks": ticks, "executions": executions, "tick_events": tick_events, "order_events": order_events}
        Path(out, f"handlers-{os.getpid()}.json").write_text(json.dumps(data))


atexit.register(_dump)
