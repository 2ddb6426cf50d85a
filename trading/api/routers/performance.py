"""Performance history: the profit table with its metrics, and the equity curve (database reads, no IB).

Days are calendar days in the display zone (trading/clock.py); `since` and `until` are such days, both
included. The figures' definitions: trading/performance/ (roundtrips.py, periods.py, metrics.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Query, Router, Schema

from trading.api.csv import CSV_OPENAPI, FormatQuery, csv_wanted
from trading.api.errors import ApiError
from trading.api.filters import IsoDate, Text
from trading.api.responses import responses
from trading.config import active_mode
from trading.exports import csv_response, fields
from trading.models import TradingMode
from trading.performance.equity import CurrenciesDiffer
from trading.performance.periods import Period
from trading.performance.selectors import equity_points, performance_report, round_trips_list

router = Router(tags=["performance"])

MSG_RANGE = "`since` ({since}) is after `until` ({until}): give a range that starts on or before its end"


class RangeQuery(Schema):
    mode: TradingMode | None = Field(None, description="Default: the active mode.")
    account: Text | None = Field(None, description="One IB account. Default: every account of the mode, summed.")
    since: IsoDate | None = Field(None, description="First day (display zone), e.g. 2026-11-02.")
    until: IsoDate | None = Field(None, description="Last day (display zone), included.")


class PerformanceQuery(RangeQuery):
    strategy: Text | None = Field(None, description="One strategy (its orderRef owner); `unattributed` for untagged fills.")
    period: Literal[Period.ALL] = Field(Period.DAY, description="Rows per day, week (from Monday) or month.")


class PeriodOut(Schema):
    start: date = Field(description="The period's first day in the display zone.")
    strategy: str
    realized: float = Field(description="P&L realized by closing fills in the period (FIFO), net of commissions.")
    unrealized: float = Field(description="Open lots at the latest market price (on the period holding today only).")
    commission: float = Field(description="Commissions within `realized` (opening and closing share of closed lots).")
    trades: int = Field(description="Round trips (flat to flat) that closed in the period.")
    wins: int
    losses: int


class MetricsOut(Schema):
    trades: int
    wins: int
    losses: int
    win_rate: float | None
    average_win: float | None
    average_loss: float | None
    max_drawdown: float
    max_drawdown_fraction: float | None
    sharpe: float | None
    sortino: float | None
    days: int = Field(description="Daily returns behind Sharpe and Sortino.")


class PerformanceOut(Schema):
    zone: str = Field(description="The display time zone that cuts the days.")
    periods: list[PeriodOut]
    metrics: MetricsOut


class RoundTripOut(Schema):
    account: str
    strategy: str
    symbol: str
    con_id: int
    direction: Literal["long", "short"]
    opened_at: datetime
    closed_at: datetime
    quantity: float = Field(description="Shares opened over the trip.")
    entry_price: float = Field(description="Average price of the shares opened.")
    exit_price: float = Field(description="Average price of the shares closed.")
    commission: float
    pnl: float = Field(description="Realized, net of commissions.")


class StrategyRangeQuery(RangeQuery):
    strategy: Text | None = Field(None, description="One strategy (its orderRef owner); `unattributed` for untagged fills.")


PERIOD_COLUMNS = fields("start", "strategy", "realized", "unrealized", "commission", "trades", "wins", "losses")
ROUND_TRIP_COLUMNS = fields(
    "account", "strategy", "symbol", "con_id", "direction", "opened_at", "closed_at", "quantity", "entry_price", "exit_price",
    "commission", "pnl", times=("opened_at", "closed_at"),
)  # fmt: skip


class EquityOut(Schema):
    zone: str
    currency: str
    t: list[float] = Field(description="Epoch seconds (UTC) of each point, oldest first.")
    net_liquidation: list[float]
    daily_pnl: list[float | None]
    resolution: list[str] = Field(description="`minute` for recent days, `day` (the day's last point) beyond.")


def _range(query: RangeQuery) -> dict:
    if query.since and query.until and query.since > query.until:
        raise ApiError(MSG_RANGE.format(since=query.since.isoformat(), until=query.until.isoformat()))
    return {"mode": query.mode or active_mode(), "account": query.account or None, "since": query.since, "until": query.until}


@router.get(
    "/performance", response=responses({200: PerformanceOut}, 400), summary="P&L per strategy and period, and metrics",
    openapi_extra=CSV_OPENAPI,
)  # fmt: skip
def performance_get(request, query: Query[PerformanceQuery], output: Query[FormatQuery]):
    try:
        report = performance_report(**_range(query), strategy=query.strategy, period=query.period)
    except CurrenciesDiffer as exc:
        raise ApiError(str(exc)) from None
    if csv_wanted(request, output.format):  # the profit table (the metrics are in the JSON)
        return csv_response(rows=report["periods"], columns=PERIOD_COLUMNS, name=f"pnl-by-{query.period}", request=request)
    return report


@router.get(
    "/performance/round-trips", response=responses({200: list[RoundTripOut]}, 400),
    summary="Closed round trips (FIFO, commissions in)", openapi_extra=CSV_OPENAPI,
)  # fmt: skip
def performance_round_trips(request, query: Query[StrategyRangeQuery], output: Query[FormatQuery]):
    trips = round_trips_list(**_range(query), strategy=query.strategy)
    if csv_wanted(request, output.format):
        return csv_response(rows=trips, columns=ROUND_TRIP_COLUMNS, name="round-trips", request=request)
    return trips


@router.get("/performance/equity", response=responses({200: EquityOut}, 400), summary="The equity curve (net liquidation)")
def performance_equity(request, query: Query[RangeQuery]):
    try:
        return equity_points(**_range(query))
    except CurrenciesDiffer as exc:
        raise ApiError(str(exc)) from None
