"""Detecting position changes made outside the console (the seed's known risk).

A position that moves must be explained by fills of ours (orders the console tagged, or placed with
the worker's client id). IB may report the new position a moment before the execution that caused it,
so an unexplained change is held as a suspect for a grace period and only reported if no fill of ours
arrives to explain it. All of this runs on the recorder's single thread, in event order.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from trading.live import live_event
from trading.models import DEFAULT_CONNECTION, ActivityKind
from trading.models.activity import Severity
from trading.orderref import order_ref_parse
from trading.worker.store import activity_write, position_find, position_upsert

Key = tuple[str, int]  # (account, con_id)


class PositionLedger:
    """What the recorder knows about fills not yet reflected in a position report, and open suspects."""

    def __init__(self, client_id: int):
        self.client_id = client_id
        self.pending: dict[Key, Decimal] = defaultdict(Decimal)
        self.suspects: dict[Key, Decimal] = {}
        self.symbols: dict[Key, str] = {}

    def is_ours(self, fill_snap: dict) -> bool:
        return fill_snap["client_id"] == self.client_id or order_ref_parse(fill_snap["order_ref"]) is not None

    def fill_seen(self, fill_snap: dict) -> None:
        if not self.is_ours(fill_snap):
            return
        key = (fill_snap["account"], fill_snap["con_id"])
        signed = Decimal(fill_snap["shares"]) * (1 if fill_snap["side"] == "BUY" else -1)
        if key in self.suspects:
            remaining = self.suspects[key] - signed
            if remaining == 0:
                del self.suspects[key]
            else:
                self.suspects[key] = remaining
        else:
            self.pending[key] += signed


def position_observe(
    *, mode: str, snap: dict, ledger: PositionLedger, connection: str = DEFAULT_CONNECTION
) -> tuple[list[dict], bool]:
    """Record a position report; returns (events, needs_verify) — True when part of the move is unexplained."""
    key = (snap["account"], snap["con_id"])
    row = position_find(mode=mode, connection=connection, account=snap["account"], con_id=snap["con_id"])
    old = row.quantity if row else Decimal(0)
    new = Decimal(snap["quantity"])
    unexplained = new - old - ledger.pending.pop(key, Decimal(0))
    ledger.symbols[key] = snap["symbol"]
    events = position_upsert(mode=mode, snap=snap, connection=connection)
    if unexplained != 0:
        ledger.suspects[key] = ledger.suspects.get(key, Decimal(0)) + unexplained
        if ledger.suspects[key] == 0:
            del ledger.suspects[key]
            return events, False
        return events, True
    return events, False


def position_verify(
    *, mode: str, key: Key, ledger: PositionLedger, context: str = "live", connection: str = DEFAULT_CONNECTION
) -> list[dict]:
    """After the grace period: a suspect still unexplained is an external position change."""
    delta = ledger.suspects.pop(key, Decimal(0))
    if delta == 0:
        return []
    symbol = ledger.symbols.get(key, "?")
    return external_change_record(mode=mode, connection=connection, key=key, delta=delta, symbol=symbol, context=context)


def external_change_record(
    *, mode: str, key: Key, delta: Decimal, symbol: str, context: str, connection: str = DEFAULT_CONNECTION
) -> list[dict]:
    account, con_id = key
    payload = {"account": account, "con_id": con_id, "symbol": symbol, "delta": str(delta), "context": context}
    events = activity_write(
        mode=mode,
        connection=connection,
        account=account,
        kind=ActivityKind.EXTERNAL_POSITION_CHANGE,
        severity=Severity.WARNING,
        message=f"external position change: {symbol} {delta:+f} in {account} with no fill of ours behind it ({context})",
        payload=payload,
    )
    return [*events, live_event("position.external_change", payload, mode=mode)]
