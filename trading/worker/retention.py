"""ib_insync lets go of what is recorded and finished: the worker's memory stays flat under load.

ib_insync keeps every Trade and Fill of the connection, and a Ticker for every market data request
ever made, until the connection closes. A worker extension (see IBWorker.extensions), as
PhantomSweeper and EquityRecorder, sweeps every `interval` s while synced:

    done trade (isDone()), seen done ≥ window, ─┐
      or not among the newest `most` done ones  │
    fill (its time) older than the window, or ──┤ recorder written through
      not among the newest `most` fills         │ (every event queued so far
                                                │ is in the database) ─▶ the rows are read back:
                                                │   an Order row with the trade's final status, a Fill
                                                │   row with its commission ─▶ dropped from ib_insync;
                                                └   no such row ─▶ kept (looked at again next sweep)
    ticker no request is subscribed to (reqTickers snapshots that ended, cancelMktData) ─▶ dropped
    then, every sweep: malloc_trim(0) (glibc) ─▶ the C heap's free pages go back to the OS

Why the trim: under load the Python heap is flat once the window is full (objects, pymalloc blocks and
glibc's bytes in use stay level), but glibc keeps what is freed in the middle of its heap as free
chunks, and those grew ~1 MB/min (docs/BENCHMARKS.md, memory: 10 minutes +12.4 % without, +7.6 % with).
Capping glibc's arenas (MALLOC_ARENA_MAX=2) was measured too and changed nothing here.

What ib_insync holds them in (ib_insync/wrapper.py, 0.9.86): trades ((clientId, orderId) or permId →
Trade), permId2Trade, fills (execId → Fill), and each Trade's own fills list; tickers (id(contract) →
Ticker), reqId2Ticker (never emptied by ib_insync) and ticker2ReqId (tickType → Ticker → reqId: the
live subscriptions). A working order's trade is never dropped, nor a fill of one, nor a fill whose
commission report has not come yet (ib_insync finds the fill by execId to attach it).

So ib.trades()/ib.fills() hold the working orders and the done ones of the last RETAIN_DONE_MINUTES,
at most the newest RETAIN_DONE_MAX of them (a busy algorithm's 5 orders a second would otherwise hold
3,000 trades, ~66 MB, in a 10-minute window); history is in the records (Order, Fill).
docs/HANDLERS.md tells handler authors.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import datetime as dt
import logging
import sys
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from trading.models import DEFAULT_CONNECTION, Fill, Order

log = logging.getLogger("trading.worker.retention")

SWEEP_EVERY = 15.0  # seconds between sweeps; tests shorten it
CHUNK = 500  # ids per query


@dataclass
class Swept:
    trades: int = 0
    fills: int = 0
    tickers: int = 0
    kept_unrecorded: int = 0


class SessionRetention:
    """A worker extension: drops recorded, finished trades and fills, and unsubscribed tickers."""

    def __init__(self, *, window: float | None = None, most: int | None = None, interval: float = SWEEP_EVERY):
        self.window = window if window is not None else settings.RETAIN_DONE_MINUTES * 60.0
        self.most = most if most is not None else settings.RETAIN_DONE_MAX
        self.interval = interval
        self.total = Swept()
        self._done_since: dict[int, float] = {}  # id(trade) → when a sweep first saw it done
        self._task: asyncio.Task | None = None

    async def on_connected(self, worker) -> None:
        await self._cancel()
        self._done_since.clear()  # ib_insync starts the session anew on each connect
        self._task = asyncio.create_task(self._loop(worker), name="session-retention")

    async def on_stop(self, worker) -> None:
        await self._cancel()

    async def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self, worker) -> None:
        while not worker.stopping.is_set():
            await asyncio.sleep(self.interval)  # the cadence itself, not synchronisation
            if not worker.synced:
                continue
            try:
                await self.sweep(worker)
            except asyncio.CancelledError:
                raise
            except Exception:  # e.g. the database is down: nothing is dropped, the next sweep looks again
                log.exception("ib_insync session sweep failed")

    async def sweep(self, worker) -> Swept:
        wrapper = worker.ib.wrapper
        swept = Swept(tickers=tickers_drop(wrapper))
        trades, fills = self._candidates(wrapper)
        if trades or fills:
            await worker.recorder.written_through()  # their events are in the database (or dead-lettered)
            recorded_orders, recorded_fills = await worker.db(
                recorded,
                mode=worker.mode,
                connection=worker.connection,
                trades=[_trade_ids(t) for t in trades],
                exec_ids=[f.execution.execId for f in fills],
            )
            fills_before = len(wrapper.fills)  # no await from here on: nothing arrives while dropping
            for trade in trades:
                if _trade_recorded(trade, recorded_orders) and all(_fill_let_go(wrapper, f, recorded_fills) for f in trade.fills):
                    swept.trades += trade_drop(wrapper, trade)
                    self._done_since.pop(id(trade), None)
                else:
                    swept.kept_unrecorded += 1
            for fill in fills:
                if fill.execution.execId in recorded_fills:
                    fill_drop(wrapper, fill)
                elif wrapper.fills.get(fill.execution.execId) is fill:
                    swept.kept_unrecorded += 1
            swept.fills = fills_before - len(wrapper.fills)
        for name in ("trades", "fills", "tickers", "kept_unrecorded"):
            setattr(self.total, name, getattr(self.total, name) + getattr(swept, name))
        malloc_trim()  # what was let go goes back to the OS, not only to the allocator
        if swept.trades or swept.fills or swept.tickers:
            log.info("let go of %d done trade(s), %d fill(s), %d ticker(s); %d kept until recorded",
                     swept.trades, swept.fills, swept.tickers, swept.kept_unrecorded)  # fmt: skip
        return swept

    def _candidates(self, wrapper) -> tuple[list, list]:
        """Done trades seen done for the window or beyond the newest `most`; fills older than the window
        or beyond the newest `most` — of no working order, with their commission."""
        now, cutoff = time.monotonic(), dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self.window)
        done, live = [], set()
        for trade in list(wrapper.trades.values()):
            live.add(id(trade))
            if trade.isDone():
                done.append((self._done_since.setdefault(id(trade), now), trade))
        for key in [k for k in self._done_since if k not in live]:  # dropped or gone with a reset
            del self._done_since[key]
        done.sort(key=lambda item: item[0])  # oldest first; the newest `most` are kept for the window
        over = max(0, len(done) - self.most)
        trades = [trade for n, (since, trade) in enumerate(done) if n < over or now - since >= self.window]
        working = {t.order.permId for t in wrapper.trades.values() if not t.isDone() and t.order.permId}
        letting_go = [f for f in list(wrapper.fills.values()) if f.execution.permId not in working and f.commissionReport.execId]
        letting_go.sort(key=lambda f: _aware(f.time))
        over = max(0, len(letting_go) - self.most)
        fills = [f for n, f in enumerate(letting_go) if n < over or _aware(f.time) <= cutoff]
        return trades, fills


def _fill_let_go(wrapper, fill, recorded_fills: set) -> bool:
    """Recorded now, or dropped by an earlier sweep (which found it recorded): a fill's window can end
    before its trade's, which counts from when a sweep first saw the trade done."""
    exec_id = fill.execution.execId
    return exec_id in recorded_fills or wrapper.fills.get(exec_id) is not fill


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _trade_ids(trade) -> tuple[int, int, int, str]:
    order = trade.order
    return order.permId or trade.orderStatus.permId, order.clientId, order.orderId, trade.orderStatus.status


def _trade_recorded(trade, recorded_orders: set) -> bool:
    perm_id, client_id, order_id, status = _trade_ids(trade)
    return (perm_id and (perm_id, status) in recorded_orders) or (
        order_id > 0 and (client_id, order_id, status) in recorded_orders
    )


def recorded(
    *, mode: str, trades: list[tuple[int, int, int, str]], exec_ids: list[str], connection: str = DEFAULT_CONNECTION
) -> tuple[set, set]:
    """What the database holds: {(permId, status), (clientId, orderId, status)} of order rows, and the
    execIds of fill rows whose commission is recorded."""
    orders: set = set()
    for i in range(0, len(trades), CHUNK):
        chunk = trades[i : i + CHUNK]
        perm_ids = [t[0] for t in chunk if t[0]]
        order_ids = [t[2] for t in chunk if t[2] > 0]
        rows = Order.objects.filter(mode=mode, connection=connection, dry_run=False).filter(
            Q(perm_id__in=perm_ids) | Q(order_id__in=order_ids)
        )
        for perm_id, client_id, order_id, status in rows.values_list("perm_id", "client_id", "order_id", "status"):
            if perm_id:
                orders.add((perm_id, status))
            if order_id > 0:
                orders.add((client_id, order_id, status))
    fills: set = set()
    for i in range(0, len(exec_ids), CHUNK):
        rows = Fill.objects.filter(
            mode=mode, connection=connection, exec_id__in=exec_ids[i : i + CHUNK], commission__isnull=False
        )
        fills.update(rows.values_list("exec_id", flat=True))
    return orders, fills


def trade_drop(wrapper, trade) -> int:
    """Remove one done trade, and its fills, from every ib_insync structure that holds it."""
    if not trade.isDone():
        return 0  # never a working order's
    dropped = 0
    for key in [k for k, t in wrapper.trades.items() if t is trade]:
        del wrapper.trades[key]
        dropped = 1
    for key in [k for k, t in wrapper.permId2Trade.items() if t is trade]:
        del wrapper.permId2Trade[key]
    for fill in trade.fills:
        if wrapper.fills.get(fill.execution.execId) is fill:
            del wrapper.fills[fill.execution.execId]
    return dropped


def fill_drop(wrapper, fill) -> bool:
    exec_id = fill.execution.execId
    if wrapper.fills.get(exec_id) is not fill:
        return False
    trade = wrapper.permId2Trade.get(fill.execution.permId)
    if trade is not None and not trade.isDone():
        return False  # a working order's fill stays with it
    del wrapper.fills[exec_id]
    return True


def tickers_drop(wrapper) -> int:
    """Drop the tickers no market data request is subscribed to any more (ticker2ReqId holds the live ones)."""
    # pendingTickers is left alone: ib_insync empties it when the next message arrives
    keep = {id(ticker) for by_ticker in wrapper.ticker2ReqId.values() for ticker in by_ticker}
    gone = [key for key, ticker in wrapper.tickers.items() if id(ticker) not in keep]
    for key in gone:
        del wrapper.tickers[key]
    for req_id in [r for r, ticker in wrapper.reqId2Ticker.items() if id(ticker) not in keep]:
        del wrapper.reqId2Ticker[req_id]
    return len(gone)


def _libc():
    """glibc, or None (not Linux, or a libc without malloc_trim, e.g. musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def _libc_malloc_trim():
    libc = _libc()
    return libc.malloc_trim if libc is not None else None


_MALLOC_TRIM = _libc_malloc_trim()


def malloc_trim() -> bool:
    """Hand the C heap's free pages back to the OS: glibc keeps them, and with the objects the sweep let
    go of (and everything short-lived between sweeps) freed in the middle of its heap, RSS only ever
    climbs while the Python heap stays flat. A no-op returning False where there is no malloc_trim."""
    if _MALLOC_TRIM is None:
        return False
    _MALLOC_TRIM(0)
    return True
