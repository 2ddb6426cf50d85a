"""The simulated broker: orders in, fills out, cash and positions kept.

Fill rules (`fill`):
- `close`: a market order fills at the close of the last bar visible when it was decided — the price
  the strategy saw (backtesting.py's `trade_on_close=True`).
- `next-open`: it fills at the open of the first bar that ends after it was decided, once that bar
  has opened (backtesting.py's default). Orders still waiting when the run ends are left unfilled.

Each fill's price moves against the order by `slippage_bps` (a buy pays price × (1 + bps/10⁴), a sell
gets price × (1 − bps/10⁴)); its commission is charged on the slipped price:
- `ib-fixed`: IBKR Pro fixed — $0.005 a share, at least $1, at most 1 % of the trade's value;
- a number: that flat rate per share, no minimum.
Cash moves by −signed quantity × price − commission; equity is cash + Σ position × last close.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

IB_FIXED = "ib-fixed"
IB_PER_SHARE, IB_MINIMUM, IB_MAXIMUM_SHARE = 0.005, 1.0, 0.01
FILL_RULES = ("next-open", "close")
BAD_COMMISSION = "--commission is 'ib-fixed' or a per-share rate like 0.005, not {value!r}"
BAD_FILL = "--fill is one of {rules}, not {value!r}"


def commission_model(spec: str):
    """A function (shares, price) -> commission in dollars, from 'ib-fixed' or a per-share rate."""
    if spec == IB_FIXED:
        return ib_fixed_commission
    try:
        rate = float(spec)
    except (TypeError, ValueError):
        raise ValueError(BAD_COMMISSION.format(value=spec)) from None
    if rate < 0:
        raise ValueError(BAD_COMMISSION.format(value=spec))
    return lambda shares, price: abs(shares) * rate


def ib_fixed_commission(shares: float, price: float) -> float:
    shares = abs(shares)
    return min(max(shares * IB_PER_SHARE, IB_MINIMUM), shares * price * IB_MAXIMUM_SHARE)


@dataclass
class Order:
    symbol: str
    con_id: int
    quantity: float  # signed: > 0 buy
    decided_at: dt.datetime
    owner: str


@dataclass
class Fill:
    time: dt.datetime
    symbol: str
    con_id: int
    side: str
    quantity: float
    price: float
    commission: float
    owner: str

    def as_dict(self) -> dict:
        return {
            "time": self.time.isoformat(),
            "symbol": self.symbol,
            "side": self.side,
            "quantity": self.quantity,
            "price": round(self.price, 6),
            "commission": round(self.commission, 6),
            "value": round(self.quantity * self.price, 2),
        }


@dataclass
class SimulatedBroker:
    cash: float
    fill: str
    commission: object  # (shares, price) -> dollars
    slippage_bps: float = 0.0
    positions: dict[int, float] = field(default_factory=dict)
    symbols: dict[int, str] = field(default_factory=dict)
    pending: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)

    def __post_init__(self):
        if self.fill not in FILL_RULES:
            raise ValueError(BAD_FILL.format(rules=", ".join(FILL_RULES), value=self.fill))

    def submit(self, order: Order, prices) -> None:
        """`prices` answers (symbol, moment) -> bar: `last_at` for close fills, `next_after` for next-open."""
        self.symbols[order.con_id] = order.symbol
        if self.fill == "close":
            bar = prices.last_at(order.symbol, order.decided_at)
            self._fill(order, bar.close, order.decided_at)
        else:
            self.pending.append(order)

    def fill_due(self, now: dt.datetime, prices) -> None:
        """Fill the next-open orders whose next bar has opened by `now`."""
        for order in list(self.pending):
            bar = prices.next_after(order.symbol, order.decided_at)
            if bar is not None and bar.start <= now:
                self.pending.remove(order)
                self._fill(order, bar.open, bar.start)

    def in_flight(self) -> dict[int, float]:
        out: dict[int, float] = {}
        for order in self.pending:
            out[order.con_id] = out.get(order.con_id, 0.0) + order.quantity
        return out

    def equity(self, now: dt.datetime, prices) -> tuple[float, float]:
        """(equity, gross position value) marked at the last visible closes."""
        gross = value = 0.0
        for con_id, quantity in self.positions.items():
            if quantity:
                bar = prices.last_at(self.symbols[con_id], now)
                value += quantity * bar.close
                gross += abs(quantity * bar.close)
        return self.cash + value, gross

    def _fill(self, order: Order, price: float, at: dt.datetime) -> None:
        side = "BUY" if order.quantity > 0 else "SELL"
        slipped = price * (1 + self.slippage_bps / 10_000 * (1 if order.quantity > 0 else -1))
        shares = abs(order.quantity)
        commission = self.commission(shares, slipped)
        self.cash -= order.quantity * slipped + commission
        self.positions[order.con_id] = self.positions.get(order.con_id, 0.0) + order.quantity
        self.fills.append(Fill(at, order.symbol, order.con_id, side, shares, slipped, commission, order.owner))
