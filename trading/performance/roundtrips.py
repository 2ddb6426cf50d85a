"""Round trips from fills, FIFO, commissions in — pure functions over plain records.

Per (strategy, contract) the fills are walked in execution order. A fill in the direction of the position
(or from flat) opens a lot carrying its price and its commission per share; a fill against the position
closes the oldest lots first (FIFO). Each closing fill realizes

    Σ over the lots it closes: sign × (exit price − lot price) × quantity
      − the closed share of each lot's opening commission − this fill's commission for the closing part

(sign +1 closing a long, −1 closing a short). A round trip runs from flat back to flat: it ends at the
fill that closes the last lot, and its P&L is the sum of what its closing fills realized. A fill larger
than the position flips it: the closing part ends the round trip, the rest (with its share of the fill's
commission) opens the next one, the other way. Prices are per share: no contract multiplier is applied
(stocks and FX, what the console trades), and P&L is in the contract's currency.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

EPSILON = 1e-9


@dataclass(frozen=True)
class FillRecord:
    strategy: str
    con_id: int
    symbol: str
    side: str  # "BUY" | "SELL"
    shares: float
    price: float
    commission: float
    executed_at: dt.datetime
    exec_id: str = ""
    account: str = ""  # each account's lots are its own


@dataclass(frozen=True)
class Realization:
    """What one closing fill realized (attributed to the fill's time)."""

    strategy: str
    symbol: str
    at: dt.datetime
    quantity: float
    pnl: float  # net of the commissions below
    commission: float


@dataclass
class RoundTrip:
    strategy: str
    con_id: int
    symbol: str
    direction: str  # "long" | "short"
    opened_at: dt.datetime
    account: str = ""
    closed_at: dt.datetime | None = None
    quantity: float = 0.0  # shares opened over the trip
    entry_value: float = 0.0  # Σ price × shares opened
    exit_quantity: float = 0.0
    exit_value: float = 0.0
    commission: float = 0.0
    pnl: float = 0.0  # net of commission

    @property
    def entry_price(self) -> float:
        return self.entry_value / self.quantity if self.quantity else 0.0

    @property
    def exit_price(self) -> float:
        return self.exit_value / self.exit_quantity if self.exit_quantity else 0.0


@dataclass
class Lot:
    quantity: float  # signed: > 0 long, < 0 short
    price: float
    commission_per_share: float
    opened_at: dt.datetime


@dataclass
class Book:
    """The open lots of one (account, strategy, contract) and its round trip in progress."""

    lots: deque = field(default_factory=deque)
    trip: RoundTrip | None = None

    @property
    def position(self) -> float:
        return sum(lot.quantity for lot in self.lots)


@dataclass
class Ledger:
    round_trips: list[RoundTrip] = field(default_factory=list)  # closed ones, in closing order
    realizations: list[Realization] = field(default_factory=list)
    books: dict[tuple[str, str, int], Book] = field(default_factory=dict)  # (account, strategy, con_id)

    def open_lots(self, strategy: str | None = None) -> list[tuple[str, int, Lot]]:
        return [
            (s, con_id, lot)
            for (_, s, con_id), book in self.books.items()
            if strategy is None or s == strategy
            for lot in book.lots
        ]


def ledger_build(fills: Iterable[FillRecord]) -> Ledger:
    """Match `fills` (any order: they are sorted by execution time, then exec id) into a Ledger."""
    ledger = Ledger()
    for fill in sorted(fills, key=lambda f: (f.executed_at, f.exec_id)):
        book = ledger.books.setdefault((fill.account, fill.strategy, fill.con_id), Book())
        _apply(ledger, book, fill)
    return ledger


def _apply(ledger: Ledger, book: Book, fill: FillRecord) -> None:
    signed = fill.shares if fill.side == "BUY" else -fill.shares
    per_share = fill.commission / fill.shares if fill.shares else 0.0
    remaining = signed
    if book.position * signed < 0:  # against the position: close FIFO
        remaining = _close(ledger, book, fill, signed, per_share)
    if abs(remaining) > EPSILON:
        _open(book, fill, remaining, per_share)


def _close(ledger: Ledger, book: Book, fill: FillRecord, signed: float, per_share: float) -> float:
    to_close = min(abs(signed), abs(book.position))
    pnl = commission = 0.0
    left = to_close
    while left > EPSILON:
        lot = book.lots[0]
        take = min(left, abs(lot.quantity))
        sign = 1.0 if lot.quantity > 0 else -1.0
        lot_commission = take * (lot.commission_per_share + per_share)
        pnl += sign * (fill.price - lot.price) * take - lot_commission
        commission += lot_commission
        lot.quantity -= sign * take
        left -= take
        if abs(lot.quantity) <= EPSILON:
            book.lots.popleft()
    trip = book.trip
    trip.exit_quantity += to_close
    trip.exit_value += to_close * fill.price
    # The opening commission was counted on the trip when the lot opened; count only this fill's here.
    trip.commission += to_close * per_share
    trip.pnl += pnl
    ledger.realizations.append(
        Realization(
            strategy=fill.strategy, symbol=fill.symbol, at=fill.executed_at, quantity=to_close, pnl=pnl, commission=commission
        )  # fmt: skip
    )
    if not book.lots:
        trip.closed_at = fill.executed_at
        ledger.round_trips.append(trip)
        book.trip = None
    direction = 1.0 if signed > 0 else -1.0
    return signed - direction * to_close


def _open(book: Book, fill: FillRecord, signed: float, per_share: float) -> None:
    if book.trip is None:
        book.trip = RoundTrip(
            strategy=fill.strategy, con_id=fill.con_id, symbol=fill.symbol,
            direction="long" if signed > 0 else "short", opened_at=fill.executed_at, account=fill.account,
        )  # fmt: skip
    book.lots.append(Lot(quantity=signed, price=fill.price, commission_per_share=per_share, opened_at=fill.executed_at))
    book.trip.quantity += abs(signed)
    book.trip.entry_value += abs(signed) * fill.price
    book.trip.commission += abs(signed) * per_share


def unrealized(lots: Iterable[Lot], market_price: float) -> float:
    """Open lots marked at `market_price`, less their opening commissions (what closing now would add,
    before the closing commission)."""
    return sum(lot.quantity * (market_price - lot.price) - abs(lot.quantity) * lot.commission_per_share for lot in lots)
