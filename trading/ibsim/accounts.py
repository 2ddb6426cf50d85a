"""The paper account: cash per currency, positions, margin, P&L and the values IB reports.

Base currency is USD. Cash starts at 1,000,000 USD plus a little EUR and JPY, so an FX cash
balancer has something to bring home. Stock fills move USD cash and the position; FX fills move
both currencies' cash (IDEALPRO also keeps a CASH position, FXCONV is a pure conversion, as at IB).

Margin is a flat-rate simplification of Reg T: 30% initial / 25% maintenance of stock value, 3% /
2.5% of FX position value; buying power is available funds divided by the initial rate.
Commissions follow IBKR Pro fixed pricing: stocks $0.005/share, min $1, max 1% of trade value;
FX 0.2 bp of trade value, min $2.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from trading.ibsim.contracts import Instrument, Universe
from trading.ibsim.market import Market

# Options: the premium (a long option's whole value); futures: a flat fraction standing in for SPAN.
INIT_RATE = {"STK": 0.30, "CASH": 0.03, "OPT": 1.0, "FUT": 0.07}
MAINT_RATE = {"STK": 0.25, "CASH": 0.025, "OPT": 1.0, "FUT": 0.06}
DEFAULT_CASH = {"USD": 1_000_000.0, "EUR": 20_000.0, "JPY": 1_500_000.0}
LEDGER_TAGS = (
    "CashBalance", "TotalCashBalance", "ExchangeRate", "NetLiquidationByCurrency", "StockMarketValue",
    "UnrealizedPnL", "RealizedPnL", "AccruedCash", "FxCashBalance",
)  # fmt: skip
ZERO_TAGS = ("AccruedCash", "LookAheadNextChange", "HighestSeverity")
NO_LIMIT_TAGS = ("DayTradesRemaining", "DayTradesRemainingT+1", "DayTradesRemainingT+2",
                 "DayTradesRemainingT+3", "DayTradesRemainingT+4")  # fmt: skip


@dataclass
class Position:
    """A holding; ``avg_cost`` is per unit in the instrument's currency and includes commissions."""

    con_id: int
    quantity: float = 0.0
    avg_cost: float = 0.0
    realized_pnl: float = 0.0
    day_ref: float = 0.0


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def money(value: float) -> str:
    return f"{value:.2f}"


class Account:
    """One paper account, valued at the market's current marks."""

    def __init__(self, account_id: str, universe: Universe, market: Market, cash: dict | None = None) -> None:
        self.account_id = account_id
        self.universe = universe
        self.market = market
        self._usd_pairs: dict[str, tuple[int, bool]] = {}  # currency: (conId of its USD pair, USD first)
        for inst in universe.instruments:
            if inst.is_fx and "USD" in (inst.symbol, inst.currency):
                other = inst.currency if inst.symbol == "USD" else inst.symbol
                self._usd_pairs.setdefault(other, (inst.con_id, inst.symbol == "USD"))
        self.cash: dict[str, float] = dict(DEFAULT_CASH if cash is None else cash)
        self.positions: dict[int, Position] = {}
        self.realized_today = 0.0
        self.start_of_day_equity = self.net_liquidation()

    # --- prices and costs -------------------------------------------------------------------

    def rate(self, currency: str) -> float:
        """USD value of one unit of ``currency``, from the live FX marks."""
        if currency in ("USD", "BASE"):
            return 1.0
        pair = self._usd_pairs.get(currency)
        if pair is None:
            raise KeyError(f"no exchange rate for {currency}")
        con_id, inverted = pair
        return 1.0 / self.market.mark(con_id) if inverted else self.market.mark(con_id)

    def commission(self, inst: Instrument, quantity: float, price: float) -> float:
        """IBKR Pro fixed commission in USD for one fill."""
        quantity = abs(quantity)
        if inst.is_fx:
            return max(2.0, 0.00002 * quantity * self.rate(inst.symbol))
        if inst.sec_type == "OPT":
            return round(max(1.0, 0.65 * quantity), 4)
        if inst.sec_type == "FUT":
            return round(0.85 * quantity, 4)
        return round(min(max(1.0, 0.005 * quantity), 0.01 * quantity * price), 4)

    # --- fills ------------------------------------------------------------------------------

    def apply_fill(
        self, inst: Instrument, exchange: str, quantity: float, price: float, fee: float
    ) -> float | None:
        """Book a signed fill; return the realized P&L in USD, or None when the fill only opened."""
        self.cash["USD"] = self.cash.get("USD", 0.0) - fee
        if inst.is_fx:
            self.cash[inst.symbol] = self.cash.get(inst.symbol, 0.0) + quantity
            self.cash[inst.currency] = self.cash.get(inst.currency, 0.0) - quantity * price
            if exchange == "FXCONV":
                return None
        else:  # futures are booked like stock (cash against value): the same NLV and P&L as IB's
            self.cash[inst.currency] = self.cash.get(inst.currency, 0.0) - quantity * price * inst.multiplier
        fee_local = fee / self.rate(inst.currency)
        realized = self._move_position(inst.con_id, quantity, price * inst.multiplier, fee_local)
        if realized is None:
            return None
        realized_usd = realized * self.rate(inst.currency)
        self.realized_today += realized_usd
        return realized_usd

    def _move_position(self, con_id: int, delta: float, price: float, fee: float) -> float | None:
        pos = self.positions.setdefault(con_id, Position(con_id))
        old = pos.quantity
        new = old + delta
        if old == 0 or _sign(old) == _sign(delta):
            pos.avg_cost = (old * pos.avg_cost + delta * price + fee) / new
            pos.day_ref = (old * pos.day_ref + delta * price) / new
            pos.quantity = new
            return None
        closed = min(abs(delta), abs(old)) * _sign(old)
        realized = closed * (price - pos.avg_cost) - fee
        pos.realized_pnl += realized
        pos.quantity = new
        if new == 0:
            pos.avg_cost = pos.day_ref = 0.0
        elif _sign(new) != _sign(old):
            pos.avg_cost = pos.day_ref = price
        return realized

    def adjust_position(self, con_id: int, delta: float, price: float) -> None:
        """Change a holding without a trade (a transfer in or out): no cash moves, no commission."""
        self._move_position(con_id, delta, price * self.universe.by_con_id[con_id].multiplier, 0.0)

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if p.quantity]

    # --- valuation --------------------------------------------------------------------------

    def unit_value(self, con_id: int) -> float:
        """The mark times the multiplier: what one unit (share, contract) is worth, as avgCost is kept."""
        return self.market.mark(con_id) * self.universe.by_con_id[con_id].multiplier

    def market_value(self, pos: Position) -> float:
        """Value in the instrument's currency (for FX: the position in quote currency)."""
        return pos.quantity * self.unit_value(pos.con_id)

    def unrealized(self, pos: Position) -> float:
        return pos.quantity * (self.unit_value(pos.con_id) - pos.avg_cost)

    def _stock_value(self, currency: str | None = None) -> float:
        total = 0.0
        for pos in self.open_positions():
            inst = self.universe.by_con_id[pos.con_id]
            if not inst.is_fx and (currency is None or inst.currency == currency):
                total += self.market_value(pos) * (1.0 if currency else self.rate(inst.currency))
        return total

    def total_cash(self) -> float:
        return sum(amount * self.rate(ccy) for ccy, amount in self.cash.items())

    def net_liquidation(self) -> float:
        return self.total_cash() + self._stock_value()

    def margin(self, extra: tuple[Instrument, float, float] | None = None) -> tuple[float, float, float]:
        """(gross position value, initial margin, maintenance margin), optionally with a hypothetical fill."""
        holdings = {p.con_id: p.quantity for p in self.open_positions()}
        if extra is not None:
            inst, quantity, _price = extra
            holdings[inst.con_id] = holdings.get(inst.con_id, 0.0) + quantity
        gross = init = maint = 0.0
        for con_id, quantity in holdings.items():
            inst = self.universe.by_con_id[con_id]
            if inst.is_fx:
                value = abs(quantity) * self.rate(inst.symbol)
            else:
                value = abs(quantity) * self.unit_value(con_id) * self.rate(inst.currency)
            gross += value
            init += value * INIT_RATE[inst.sec_type]
            maint += value * MAINT_RATE[inst.sec_type]
        return gross, init, maint

    def pnl(self) -> tuple[float, float, float]:
        """(daily, unrealized, realized) P&L in USD, as reqPnL reports."""
        unrealized = daily = 0.0
        for pos in self.open_positions():
            rate = self.rate(self.universe.by_con_id[pos.con_id].currency)
            unrealized += self.unrealized(pos) * rate
            daily += pos.quantity * (self.unit_value(pos.con_id) - pos.day_ref) * rate
        return daily + self.realized_today, unrealized, self.realized_today

    def pnl_single(self, con_id: int) -> tuple[float, float, float, float, float]:
        """(position, daily, unrealized, realized, value) for one conId, as reqPnLSingle reports."""
        pos = self.positions.get(con_id)
        if pos is None:
            return 0.0, 0.0, 0.0, 0.0, 0.0
        daily = pos.quantity * (self.unit_value(con_id) - pos.day_ref)
        return pos.quantity, daily, self.unrealized(pos), pos.realized_pnl, self.market_value(pos)

    def values(self) -> dict[str, float]:
        """The numeric account-summary tags, all in USD."""
        nlv = self.net_liquidation()
        gross, init, maint = self.margin()
        available = nlv - init
        excess = nlv - maint
        _, unrealized, realized = self.pnl()
        vals = {
            "NetLiquidation": nlv, "TotalCashValue": self.total_cash(), "SettledCash": self.total_cash(),
            "EquityWithLoanValue": nlv, "PreviousDayEquityWithLoanValue": self.start_of_day_equity,
            "GrossPositionValue": gross, "RegTEquity": nlv, "RegTMargin": gross * 0.5,
            "SMA": max(available, 0.0), "InitMarginReq": init, "MaintMarginReq": maint,
            "AvailableFunds": available, "ExcessLiquidity": excess,
            "BuyingPower": max(available, 0.0) / INIT_RATE["STK"], "Cushion": excess / nlv if nlv else 0.0,
            "Leverage": gross / nlv if nlv else 0.0, "StockMarketValue": self._stock_value(),
            "UnrealizedPnL": unrealized, "RealizedPnL": realized,
        }  # fmt: skip
        for tag in ("InitMarginReq", "MaintMarginReq", "AvailableFunds", "ExcessLiquidity"):
            vals["Full" + tag] = vals[tag]
            vals["LookAhead" + tag] = vals[tag]
        for tag in ZERO_TAGS:
            vals[tag] = 0.0
        for tag in NO_LIMIT_TAGS:
            vals[tag] = -1.0
        return vals

    # --- reports ----------------------------------------------------------------------------

    def currencies(self) -> list[str]:
        held = {self.universe.by_con_id[p.con_id].currency for p in self.open_positions()}
        return sorted(set(self.cash) | held)

    def ledger(self, currency: str) -> list[tuple[str, str, str]]:
        """The $LEDGER rows for one currency, or for BASE (everything converted to USD)."""
        if currency == "BASE":
            cash = self.total_cash()
            stock = self._stock_value()
            _, unrealized, realized = self.pnl()
            rate = 1.0
        else:
            cash = self.cash.get(currency, 0.0)
            stock = self._stock_value(currency)
            unrealized = realized = 0.0
            for pos in self.open_positions():
                if self.universe.by_con_id[pos.con_id].currency == currency:
                    unrealized += self.unrealized(pos)
                    realized += pos.realized_pnl
            rate = self.rate(currency)
        numbers = {
            "CashBalance": money(cash), "TotalCashBalance": money(cash), "ExchangeRate": f"{rate:.8g}",
            "NetLiquidationByCurrency": money(cash + stock), "StockMarketValue": money(stock),
            "UnrealizedPnL": money(unrealized), "RealizedPnL": money(realized), "AccruedCash": "0.00",
            "FxCashBalance": "0.00",
        }  # fmt: skip
        return [(tag, numbers[tag], currency) for tag in LEDGER_TAGS] + [("Currency", currency, currency)]

    def account_values(self) -> list[tuple[str, str, str]]:
        """Every (key, value, currency) row reqAccountUpdates sends."""
        rows = [
            ("AccountCode", self.account_id, ""),
            ("AccountReady", "true", ""),
            ("AccountType", "INDIVIDUAL", ""),
        ]
        rows += [(tag, money(value), "USD") for tag, value in self.values().items()]
        for currency in ["BASE", *self.currencies()]:
            rows += self.ledger(currency)
        return rows

    def summary(self, tags: str) -> list[tuple[str, str, str]]:
        """The (tag, value, currency) rows reqAccountSummary asks for by its comma-separated tags."""
        wanted = [t.strip() for t in tags.split(",") if t.strip()]
        values = self.values()
        rows = []
        for tag in wanted:
            if tag == "AccountType":
                rows.append((tag, "INDIVIDUAL", ""))
            elif tag in values:
                rows.append((tag, money(values[tag]), "USD"))
            elif tag.startswith("$LEDGER"):
                rows += self._ledger_rows(tag.partition(":")[2] or "BASE")
        return rows

    def _ledger_rows(self, which: str) -> list[tuple[str, str, str]]:
        currencies = ["BASE", *self.currencies()] if which == "ALL" else [which]
        rows = []
        for currency in currencies:
            rows += self.ledger(currency)
        return rows

    def what_if(self, inst: Instrument, quantity: float, price: float, fee: float) -> dict[str, str]:
        """Margin before/change/after and equity with loan, as a what-if order's OrderState carries."""
        nlv = self.net_liquidation()
        _, init_before, maint_before = self.margin()
        _, init_after, maint_after = self.margin((inst, quantity, price))
        return {
            "init_before": money(init_before), "maint_before": money(maint_before),
            "equity_before": money(nlv), "init_change": money(init_after - init_before),
            "maint_change": money(maint_after - maint_before), "equity_change": money(-fee),
            "init_after": money(init_after), "maint_after": money(maint_after),
            "equity_after": money(nlv - fee),
        }  # fmt: skip

    def start_new_day(self) -> None:
        """Daily P&L restarts from the current marks; today's realized P&L goes back to zero."""
        for pos in self.open_positions():
            pos.day_ref = self.unit_value(pos.con_id)
        self.realized_today = 0.0
        self.start_of_day_equity = self.net_liquidation()

    # --- persistence ------------------------------------------------------------------------

    def to_state(self) -> dict:
        return {
            "account_id": self.account_id,
            "cash": dict(self.cash),
            "positions": [asdict(p) for p in self.positions.values() if p.quantity or p.realized_pnl],
            "realized_today": self.realized_today,
        }

    def restore(self, state: dict) -> None:
        self.cash = {k: float(v) for k, v in state.get("cash", {}).items()}
        self.positions = {int(p["con_id"]): Position(**p) for p in state.get("positions", [])}
        self.realized_today = float(state.get("realized_today", 0.0))
        self.start_of_day_equity = self.net_liquidation()
