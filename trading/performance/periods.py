"""The profit table: realized P&L, commissions and round trips per strategy and day / week / month.

A day is a calendar day in the display zone (trading/clock.py); a week starts on Monday, a month on its
first day. A closing fill's realized P&L and commissions count in the period it executed in; a round
trip counts (as a trade, a win or a loss) in the period it closed in. Unrealized P&L is what the open lots
are worth now, so it is shown on the period that contains today only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from trading.clock import local_day
from trading.performance.roundtrips import Realization, RoundTrip


class Period:
    DAY, WEEK, MONTH = "day", "week", "month"
    ALL = (DAY, WEEK, MONTH)


def period_start(day: dt.date, period: str) -> dt.date:
    if period == Period.WEEK:
        return day - dt.timedelta(days=day.weekday())
    if period == Period.MONTH:
        return day.replace(day=1)
    return day


@dataclass
class PeriodRow:
    start: dt.date
    strategy: str
    realized: float = 0.0
    unrealized: float = 0.0
    commission: float = 0.0
    trades: int = 0
    wins: int = 0
    losses: int = 0

    def as_dict(self) -> dict:
        row = asdict(self)
        row["start"] = self.start.isoformat()
        for name in ("realized", "unrealized", "commission"):
            row[name] = round(row[name], 2)
        return row


def period_table(
    *,
    realizations: Iterable[Realization],
    round_trips: Iterable[RoundTrip],
    unrealized: dict[str, float],
    period: str,
    today: dt.date,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> list[PeriodRow]:
    """Rows per (period start, strategy), oldest first; days outside [since, until] are left out."""
    rows: dict[tuple[dt.date, str], PeriodRow] = {}

    def row(moment: dt.datetime | dt.date, strategy: str) -> PeriodRow | None:
        day = local_day(moment) if isinstance(moment, dt.datetime) else moment
        if (since and day < since) or (until and day > until):
            return None
        key = (period_start(day, period), strategy)
        return rows.setdefault(key, PeriodRow(start=key[0], strategy=strategy))

    for item in realizations:
        if (target := row(item.at, item.strategy)) is not None:
            target.realized += item.pnl
            target.commission += item.commission
    for trip in round_trips:
        if (target := row(trip.closed_at, trip.strategy)) is not None:
            target.trades += 1
            target.wins += trip.pnl > 0
            target.losses += trip.pnl < 0
    for strategy, value in unrealized.items():
        if (target := row(today, strategy)) is not None:
            target.unrealized += value
    return sorted(rows.values(), key=lambda r: (r.start, r.strategy))
