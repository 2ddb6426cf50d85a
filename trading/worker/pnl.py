"""P&L: IB's reqPnL (the account) and reqPnLSingle (each position) streams, the one source of P&L.

IB pushes both about once a second. The worker keeps one reqPnL per account and one reqPnLSingle per
open position (started when a position appears, cancelled when it goes flat; both trickled out so that
they never queue ahead of orders at the request throttle) and records each push:

- the account's figures as account values `PnL.Daily`, `PnL.Unrealized`, `PnL.Realized` (currency
  BASE), whose `updated_at` says when IB produced them (well, when they reached us: IB's P&L messages
  carry no time of their own);
- a position's unrealized and realized P&L, market value and price on its Position row.

The dashboard's account card and positions rows, the API and the `summary` intent all read these, so
they agree: the card's unrealized P&L no longer comes from one clock (reqPnL, every second) while the
rows' came from another (the portfolio, every 3 minutes at IB). Portfolio reports still set quantity,
average cost and the mark, never the P&L (see EventRouter._on_portfolio).
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from django.utils import timezone

from trading.live import live_event
from trading.models import DEFAULT_CONNECTION
from trading.selectors import PNL_CURRENCY, PNL_TAGS
from trading.worker.snapshots import number, pnl_snapshot
from trading.worker.store import account_values_upsert, position_event, position_find

log = logging.getLogger("trading.worker.pnl")


def pnl_single_snapshot(item) -> dict:
    return {
        "account": item.account,
        "con_id": item.conId,
        "position": number(item.position),
        "daily_pnl": number(item.dailyPnL),
        "unrealized_pnl": number(item.unrealizedPnL),
        "realized_pnl": number(item.realizedPnL),
        "value": number(item.value),
        "at": timezone.now().isoformat(),
    }


def pnl_account_record(*, mode: str, snap: dict, connection: str = DEFAULT_CONNECTION) -> list[dict]:
    """reqPnL's figures as account values; the `pnl.update` event (with `at`) for the page."""
    items = [
        {
            "mode": mode,
            "connection": connection,
            "snap": {"account": snap["account"], "tag": tag, "currency": PNL_CURRENCY, "value": snap[field]},
        }
        for field, tag in PNL_TAGS.items()
        if snap.get(field) is not None
    ]
    events = account_values_upsert(items=items) if items else []
    return [*events, live_event("pnl.update", snap, mode=mode)]


def pnl_account_merge(*, items: list[dict]) -> list[dict]:
    """The pushes of one recorder batch (the coalesce key already kept only the newest per account)."""
    return [event for item in items for event in pnl_account_record(**item)]


def position_pnl_record(*, mode: str, snap: dict, connection: str = DEFAULT_CONNECTION) -> list[dict]:
    """reqPnLSingle's figures onto the position's row; nothing if the row is gone (flat) or IB sent no value."""
    position = position_find(mode=mode, connection=connection, account=snap["account"], con_id=snap["con_id"])
    if position is None or snap["unrealized_pnl"] is None:
        return []
    position.unrealized_pnl = Decimal(snap["unrealized_pnl"])
    if snap["realized_pnl"] is not None:
        position.realized_pnl = Decimal(snap["realized_pnl"])
    if snap["value"] is not None:
        position.market_value = Decimal(snap["value"])
        if position.quantity:
            position.market_price = Decimal(snap["value"]) / position.quantity
    position.save(update_fields=["unrealized_pnl", "realized_pnl", "market_value", "market_price", "updated_at"])
    return [live_event("position.update", position_event(position), mode=mode)]


def position_pnl_merge(*, items: list[dict]) -> list[dict]:
    """The pushes of one recorder batch, one per position (the coalesce key kept the newest of each)."""
    return [event for item in items for event in position_pnl_record(**item)]


# Subscriptions share ib_insync's request throttle (45 messages a second) with orders. Fifty positions
# opened or closed at once would put fifty reqPnLSingle/cancelPnLSingle ahead of the next orders and
# requests (close_all waited a second behind them), so they trickle instead: a few at a time, only
# while nothing is queued at the throttle and the last second's sends leave most of its budget free.
TRICKLE_INTERVAL = 0.1  # seconds between looks at the throttle
TRICKLE_BATCH = 2  # subscription messages sent per look, at most
TRICKLE_SHARE = 4  # send only while under 1/4 of the throttle's budget went out in its last interval


def throttle_spare(client) -> bool:
    """True when the client's throttle has nothing queued and most of its budget left (a client
    without ib_insync's throttle, or with it switched off: always)."""
    if getattr(client, "_msgQ", None):
        return False
    budget, times = getattr(client, "MaxRequests", 0), getattr(client, "_timeQ", None)
    if not budget or not times:
        return True
    now, interval = asyncio.get_running_loop().time(), getattr(client, "RequestsInterval", 1.0)
    return sum(1 for t in times if now - t <= interval) < max(1, budget // TRICKLE_SHARE)


class PnlStreams:
    """The worker's reqPnL and reqPnLSingle subscriptions and their recording."""

    def __init__(self, worker):
        self.worker = worker
        self.singles: set[tuple[str, int]] = set()  # (account, conId) wanted open (sent or still pending)
        self.pending: dict[tuple[str, int], bool] = {}  # key -> True to subscribe, False to cancel, in order
        self.account_latest: dict[str, dict] = {}  # account -> last reqPnL snap (with `at`)
        self.position_latest: dict[tuple[str, int], dict] = {}  # (account, conId) -> last reqPnLSingle snap
        self._drain_handle: asyncio.TimerHandle | None = None

    def latest(self, account: str = "") -> dict:
        """The newest pushes, as the `summary` intent reports them: the account and each open position."""
        return {
            "account": self.account_latest.get(account) if account else next(iter(self.account_latest.values()), None),
            "positions": [snap for (acct, _), snap in sorted(self.position_latest.items()) if (not account or acct == account)],
        }

    def bind(self, ib) -> None:
        ib.pnlEvent += self._on_pnl
        ib.pnlSingleEvent += self._on_pnl_single
        ib.positionEvent += self._on_position

    def subscribe(self, account: str) -> None:
        """(Re)subscribe after a connect or after IB dropped subscriptions (1101): ib_insync keeps the keys."""
        ib = self.worker.ib
        if (account, "") in ib.wrapper.pnlKey2ReqId:
            ib.cancelPnL(account)
        ib.reqPnL(account)
        for key in [k for k in self.singles if k[0] == account]:
            if (key[0], "", key[1]) in ib.wrapper.pnlSingleKey2ReqId:
                ib.cancelPnLSingle(key[0], "", key[1])
            self.singles.discard(key)
            self.pending.pop(key, None)
        for position in ib.positions(account):
            if position.position:
                self._want((position.account, position.contract.conId), True)

    def _want(self, key: tuple[str, int], wanted: bool) -> None:
        """Open or close a position's stream: queued for the trickle; a change of mind before it went
        out cancels the queued message instead of sending both."""
        if wanted == (key in self.singles):
            return
        if wanted:
            self.singles.add(key)
        else:
            self.singles.discard(key)
            self.position_latest.pop(key, None)
        if key in self.pending:
            del self.pending[key]  # the opposite message was still queued: IB already has what we want
        else:
            self.pending[key] = wanted
        if self._drain_handle is None:
            self._drain_handle = asyncio.get_running_loop().call_soon(self._drain)

    def _drain(self) -> None:
        self._drain_handle = None
        ib = self.worker.ib
        if not ib.isConnected():
            return  # subscribe() rebuilds every stream on the next connect
        if throttle_spare(ib.client):
            for _ in range(min(TRICKLE_BATCH, len(self.pending))):
                (account, con_id), wanted = next(iter(self.pending.items()))
                del self.pending[(account, con_id)]
                if wanted:
                    ib.reqPnLSingle(account, "", con_id)
                elif (account, "", con_id) in ib.wrapper.pnlSingleKey2ReqId:
                    ib.cancelPnLSingle(account, "", con_id)
        if self.pending:
            self._drain_handle = asyncio.get_running_loop().call_later(TRICKLE_INTERVAL, self._drain)

    def _on_position(self, position) -> None:
        self._want((position.account, position.contract.conId), bool(position.position))

    def _submit(self, apply, merge, key, snap) -> None:
        if self.worker.synced:
            worker = self.worker
            worker.recorder.submit(
                apply, coalesce_key=key, merge=merge, mode=worker.mode, connection=worker.connection, snap=snap
            )

    def _on_pnl(self, pnl) -> None:
        snap = {**pnl_snapshot(pnl), "at": timezone.now().isoformat()}
        self.account_latest[pnl.account] = snap
        self._submit(pnl_account_record, pnl_account_merge, ("pnl", pnl.account), snap)

    def _on_pnl_single(self, item) -> None:
        snap = pnl_single_snapshot(item)
        if (item.account, item.conId) in self.singles:
            self.position_latest[(item.account, item.conId)] = snap
        self._submit(position_pnl_record, position_pnl_merge, ("pnl-single", item.account, item.conId), snap)
