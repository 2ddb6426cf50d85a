"""The worker's equity recorder: a snapshot of net liquidation and P&L every minute and after each fill.

A worker extension (see IBWorker.extensions), as PhantomSweeper and OrderDesk. While the worker is synced
it reads what ib_insync already holds — no request to IB, nothing blocking — and hands the row to the
recorder (trading/performance/equity.py writes it), so the loop never waits for the database:

    on_connected ─▶ compaction queued ─▶ every `interval` s: snapshot (hourly: compaction again)
    execDetails  ─▶ one snapshot `settle` s later (account values and P&L move after the execution;
                    several fills in that window share it)
    on_stop / drop ─▶ the loop ends; nothing is recorded while disconnected

Where the figures come from is `equity_read`, one function: IB's reqPnL stream when the worker has it
(it subscribes on connect), else the account values.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from django.conf import settings
from django.utils import timezone

from trading.performance.equity import equity_compact, equity_record

log = logging.getLogger("trading.worker.equity")

FILL_SETTLE = 1.0  # seconds after an execution before its snapshot: IB's account update follows it
COMPACT_EVERY = 3600.0  # seconds
NOT_SYNCED_POLL = 0.5  # seconds between looks at a worker not (yet, or no longer) synced


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else round(number, 2)


def equity_read(ib, account: str = "") -> dict | None:
    """Net liquidation and P&L as the worker knows them now, or None before IB sent a net liquidation.

    The P&L comes from ib.pnl() (the reqPnL stream) when subscribed, else from the account values."""
    values = [v for v in ib.accountValues(account) if not account or v.account == account]
    net = next((v for v in values if v.tag == "NetLiquidation" and v.currency not in ("", "BASE")), None)
    if net is None or _number(net.value) is None:
        return None
    snap = {"account": net.account, "net_liquidation": _number(net.value), "currency": net.currency}
    pnl = next(iter(ib.pnl(net.account)), None)
    if pnl is not None:
        snap.update(
            daily_pnl=_number(pnl.dailyPnL), unrealized_pnl=_number(pnl.unrealizedPnL), realized_pnl=_number(pnl.realizedPnL)
        )
    else:
        by_tag = {v.tag: v.value for v in values if v.currency == net.currency}
        snap.update(
            daily_pnl=None, unrealized_pnl=_number(by_tag.get("UnrealizedPnL")), realized_pnl=_number(by_tag.get("RealizedPnL"))
        )
    return snap


class EquityRecorder:
    """A worker extension: equity snapshots while connected (see the module docstring)."""

    def __init__(self, *, interval: float | None = None, settle: float = FILL_SETTLE, compact_every: float = COMPACT_EVERY):
        self.interval = interval if interval is not None else settings.EQUITY_SNAPSHOT_SECONDS
        self.settle = settle
        self.compact_every = compact_every
        self._task: asyncio.Task | None = None
        self._fill_timer: asyncio.TimerHandle | None = None
        self._bound = None
        self.recorded = 0

    async def on_connected(self, worker) -> None:
        await self._cancel()
        if self._bound is not worker.ib:
            worker.ib.execDetailsEvent += lambda trade, fill: self._after_fill(worker)
            self._bound = worker.ib
        self._task = asyncio.create_task(self._loop(worker), name="equity-snapshots")

    async def on_stop(self, worker) -> None:
        await self._cancel()

    async def _cancel(self) -> None:
        if self._fill_timer is not None:
            self._fill_timer.cancel()
            self._fill_timer = None
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self, worker) -> None:
        # Started from on_connected, before the worker is synced: the first point waits for the sync.
        compacted = -math.inf
        while not worker.stopping.is_set():
            if not worker.synced:
                await asyncio.sleep(NOT_SYNCED_POLL)
                continue
            if time.monotonic() - compacted >= self.compact_every:
                worker.recorder.submit(equity_compact, mode=worker.mode, connection=worker.connection)
                compacted = time.monotonic()
            self.record(worker, "minute")
            await asyncio.sleep(self.interval)  # the cadence itself, not synchronisation

    def _after_fill(self, worker) -> None:
        if self._fill_timer is None and worker.synced:
            self._fill_timer = asyncio.get_running_loop().call_later(self.settle, self._fill_due, worker)

    def _fill_due(self, worker) -> None:
        self._fill_timer = None
        if worker.synced:
            self.record(worker, "fill")

    def record(self, worker, reason: str) -> None:
        snap = equity_read(worker.ib, worker.options.account)
        if snap is None:
            return
        snap.update(taken_at=timezone.now(), reason=reason)
        worker.recorder.submit(equity_record, mode=worker.mode, connection=worker.connection, snap=snap)
        self.recorded += 1
