"""Database reads behind the performance API and page: fills → ledger → table and metrics, the curve."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.utils import timezone

from trading.clock import display_zone, local_day
from trading.models import Fill, Position
from trading.performance import metrics
from trading.performance.equity import daily_closes, daily_returns, equity_curve, equity_sum
from trading.performance.periods import period_table
from trading.performance.roundtrips import FillRecord, Ledger, ledger_build, unrealized

UNATTRIBUTED = "unattributed"  # fills of orders the console did not tag (TWS, another client)


def fill_records(*, mode: str, strategy: str | None = None, account: str | None = None) -> list[FillRecord]:
    """Every fill of the mode (of one strategy, of one account), as FIFO needs the whole history before any
    period. Each account's lots are its own (a long in one account is not closed by a sale in another)."""
    fills = Fill.objects.filter(mode=mode)
    if strategy:
        fills = fills.filter(strategy="" if strategy == UNATTRIBUTED else strategy)
    if account:
        fills = fills.filter(account=account)
    columns = ("account", "strategy", "con_id", "symbol", "side", "shares", "price", "commission", "executed_at", "exec_id")
    return [
        FillRecord(
            account=account,
            strategy=s or UNATTRIBUTED,
            con_id=con_id,
            symbol=symbol,
            side=side,
            shares=float(shares),
            price=float(price),
            commission=float(commission or 0),
            executed_at=executed_at,
            exec_id=exec_id,
        )  # fmt: skip
        for account, s, con_id, symbol, side, shares, price, commission, executed_at, exec_id in fills.values_list(
            *columns
        ).iterator()
    ]


def unrealized_by_strategy(ledger: Ledger, *, mode: str) -> dict[str, float]:
    """Open lots marked at the latest market price of the contract (its account's position's, else any
    account's: one contract has one price) — strategies with open lots only."""
    positions = Position.objects.filter(mode=mode, market_price__isnull=False).values_list("account", "con_id", "market_price")
    prices: dict[tuple[str, int], float] = {}
    for account, con_id, price in positions:
        prices[(account, con_id)] = prices[("", con_id)] = float(price)
    out: dict[str, float] = defaultdict(float)
    for (account, strategy, con_id), book in ledger.books.items():
        price = prices.get((account, con_id), prices.get(("", con_id)))
        if book.lots and price is not None:
            out[strategy] += unrealized(book.lots, price)
    return dict(out)


def _in_range(day: dt.date, since: dt.date | None, until: dt.date | None) -> bool:
    return not ((since and day < since) or (until and day > until))


def performance_report(
    *, mode: str, period: str, strategy: str | None = None, account: str | None = None, since: dt.date | None = None,
    until: dt.date | None = None,
) -> dict:  # fmt: skip
    """The profit table and the metrics of one mode (and strategy, and account: all of them summed when
    none is given) over [since, until] (display-zone days)."""
    ledger = ledger_build(fill_records(mode=mode, strategy=strategy, account=account))
    today = local_day(timezone.now())
    rows = period_table(
        realizations=ledger.realizations, round_trips=ledger.round_trips, unrealized=unrealized_by_strategy(ledger, mode=mode),
        period=period, today=today, since=since, until=until,
    )  # fmt: skip
    trips = [t for t in ledger.round_trips if _in_range(local_day(t.closed_at), since, until)]
    curve = equity_curve(mode=mode, account=account, since=since, until=until)
    closes = daily_closes(curve)
    if strategy:
        equity, returns = _strategy_series(ledger, closes, since, until)
    else:
        equity, returns = list(closes.values()), daily_returns(curve)
    summary = metrics.metrics_summary(trade_pnls=[t.pnl for t in trips], equity=equity, returns=returns)
    if strategy:
        summary["max_drawdown_fraction"] = None  # a P&L curve has no capital to be a fraction of
    return {
        "zone": str(display_zone()),
        "periods": [row.as_dict() for row in rows],
        "metrics": {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()},
    }


def _strategy_series(ledger, closes, since, until) -> tuple[list[float], list[float]]:
    """A strategy's cumulative realized P&L per day, and its daily P&L over the account's previous close."""
    by_day: dict[dt.date, float] = defaultdict(float)
    for item in ledger.realizations:
        day = local_day(item.at)
        if _in_range(day, since, until):
            by_day[day] += item.pnl
    equity, total, returns = [0.0], 0.0, []
    days = sorted(closes)
    for day in sorted(by_day):
        total += by_day[day]
        equity.append(total)
        before = [d for d in days if d < day]
        if before and closes[before[-1]] > 0:
            returns.append(by_day[day] / closes[before[-1]])
    return equity, returns


def round_trips_list(
    *, mode: str, strategy: str | None = None, account: str | None = None, since: dt.date | None = None,
    until: dt.date | None = None,
) -> list[dict]:  # fmt: skip
    """Closed round trips (flat to flat, FIFO, commissions in) that closed in [since, until], oldest first."""
    ledger = ledger_build(fill_records(mode=mode, strategy=strategy, account=account))
    return [
        {
            "account": t.account, "strategy": t.strategy, "symbol": t.symbol, "con_id": t.con_id, "direction": t.direction,
            "opened_at": t.opened_at, "closed_at": t.closed_at, "quantity": t.quantity,
            "entry_price": round(t.entry_price, 6), "exit_price": round(t.exit_price, 6),
            "commission": round(t.commission, 2), "pnl": round(t.pnl, 2),
        }  # fmt: skip
        for t in ledger.round_trips
        if _in_range(local_day(t.closed_at), since, until)
    ]


def equity_points(
    *, mode: str, account: str | None = None, since: dt.date | None = None, until: dt.date | None = None
) -> dict:
    """The curve as columns (uPlot's shape): epoch seconds, net liquidation, daily P&L — one account's, or
    every account's summed (equity_sum; CurrenciesDiffer when they do not add up)."""
    rows = equity_curve(mode=mode, account=account, since=since, until=until)
    points = equity_sum(rows)
    return {
        "zone": str(display_zone()),
        "currency": rows[-1].currency if rows else "",
        "t": [round(taken_at.timestamp(), 3) for taken_at, _, _, _ in points],
        "net_liquidation": [net_liquidation for _, net_liquidation, _, _ in points],
        "daily_pnl": [daily_pnl for _, _, daily_pnl, _ in points],
        "resolution": [r.resolution for r in rows],
    }
