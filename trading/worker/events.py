"""IB events → the recorder: each ib_insync event is snapshotted on the loop and queued for writing.

Events arriving before the reconciliation's snapshot of IB's state (during connect) are skipped: the
snapshot covers them. Every event after it is recorded, queued behind the snapshot's recording.
"""

from __future__ import annotations

import asyncio

from django.utils import timezone

from trading.models import DEFAULT_CONNECTION
from trading.worker.positions import PositionLedger, position_observe, position_verify
from trading.worker.snapshots import (
    account_value_snapshot,
    commission_snapshot,
    fill_snapshot,
    portfolio_snapshot,
    position_snapshot,
    trade_snapshot,
)
from trading.worker.store import (
    account_value_upsert,
    account_values_upsert,
    commission_record,
    fill_record,
    order_upsert,
)

POSITION_GRACE = 2.0  # seconds IB may report a position before the execution that explains it


class EventRouter:
    def __init__(self, worker):
        self.worker = worker
        self.last_event_at = None
        self._account_values: dict[tuple, str] = {}  # last value queued per (account, tag, currency)

    @property
    def mode(self) -> str:
        return self.worker.mode

    def bind(self, ib) -> None:
        ib.openOrderEvent += self._on_trade
        ib.orderStatusEvent += self._on_trade
        ib.execDetailsEvent += self._on_exec
        ib.commissionReportEvent += self._on_commission
        ib.positionEvent += self._on_position
        ib.updatePortfolioEvent += self._on_portfolio
        ib.accountValueEvent += self._on_account_value
        # reqPnL / reqPnLSingle: trading.worker.pnl

    def _submit(self, apply, on_done=None, coalesce_key=None, merge=None, **kwargs) -> None:
        self.worker.recorder.submit(
            apply, on_done, coalesce_key=coalesce_key, merge=merge, mode=self.mode, connection=self.worker.connection, **kwargs
        )

    def _touch(self) -> bool:
        self.last_event_at = timezone.now()
        return self.worker.recording

    def _on_trade(self, trade) -> None:
        if self._touch():
            order = trade.order
            key = ("order", order.clientId, order.orderId) if order.orderId > 0 else ("order-perm", order.permId)
            self._submit(order_upsert, coalesce_key=key, snap=trade_snapshot(trade))

    def _on_exec(self, trade, fill) -> None:
        if self._touch():
            self._submit(fill_and_ledger, snap=fill_snapshot(fill), ledger=self.worker.ledger)

    def _on_commission(self, trade, fill, report) -> None:
        if self._touch():
            self._submit(commission_record, snap={"exec_id": report.execId, **commission_snapshot(report)})

    def _on_position(self, position) -> None:
        if self._touch():
            self._observe_position(position_snapshot(position))

    def _on_portfolio(self, item) -> None:
        if self._touch():
            # quantity, cost and mark; the P&L comes from reqPnLSingle only (trading.worker.pnl), one source
            self._observe_position({**portfolio_snapshot(item), "unrealized_pnl": None, "realized_pnl": None})

    def _observe_position(self, snap: dict) -> None:
        key, ledger = (snap["account"], snap["con_id"]), self.worker.ledger

        def verify_later(result) -> None:
            _, needs_verify = result
            if needs_verify:
                asyncio.get_running_loop().call_later(
                    POSITION_GRACE, lambda: self._submit(position_verify, key=key, ledger=ledger)
                )

        # position and portfolio reports of one contract in one batch: one write (suspects settle the order)
        self._submit(position_observe, on_done=verify_later, coalesce_key=("position", *key), snap=snap, ledger=ledger)

    def _on_account_value(self, value) -> None:
        if self._touch():
            snap = account_value_snapshot(value)
            key = (snap["account"], snap["tag"], snap["currency"])
            if self._account_values.get(key) == snap["value"]:
                return  # IB re-sends every unchanged value with each account update: nothing to write
            self._account_values[key] = snap["value"]
            self._submit(account_value_upsert, coalesce_key=("account-value", *key), merge=account_values_upsert, snap=snap)


def fill_and_ledger(*, mode: str, snap: dict, ledger: PositionLedger, connection: str = DEFAULT_CONNECTION):
    events, new = fill_record(mode=mode, snap=snap, connection=connection)
    if new:
        ledger.fill_seen(snap)
    return events, new
