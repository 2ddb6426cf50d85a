"""The profit table cuts days at midnight in the display zone, DST days included."""

import datetime as dt

import pytest

from trading.performance.periods import Period, period_table
from trading.performance.roundtrips import Realization, RoundTrip

UTC = dt.UTC


@pytest.fixture(autouse=True)
def new_york(settings, zone_from_settings):
    settings.DISPLAY_TIME_ZONE = "America/New_York"


def realized(at, pnl, strategy="alpha", commission=1.0):
    return Realization(strategy=strategy, symbol="SPY", at=at, quantity=1, pnl=pnl, commission=commission)


def trip(closed_at, pnl, strategy="alpha"):
    return RoundTrip(
        strategy=strategy, con_id=1, symbol="SPY", direction="long", opened_at=closed_at, closed_at=closed_at, pnl=pnl
    )


def table(period, realizations=(), trips=(), unrealized=None, **kwargs):
    rows = period_table(
        realizations=realizations, round_trips=trips, unrealized=unrealized or {}, period=period,
        today=kwargs.pop("today", dt.date(2026, 3, 20)), **kwargs,
    )  # fmt: skip
    return [(r.start.isoformat(), r.strategy, round(r.realized, 2), r.trades, r.wins, r.losses) for r in rows]


def test_a_day_ends_at_new_york_midnight_on_both_sides_of_the_spring_dst_change():
    fills = [
        realized(dt.datetime(2026, 3, 7, 4, 59, tzinfo=UTC), 1),  # 23:59 EST, Fri 6 March
        realized(dt.datetime(2026, 3, 7, 5, 0, tzinfo=UTC), 2),  # 00:00 EST, Sat 7 March
        realized(dt.datetime(2026, 3, 9, 3, 59, tzinfo=UTC), 4),  # 23:59 EDT, Sun 8 March (a 23-hour day)
        realized(dt.datetime(2026, 3, 9, 4, 0, tzinfo=UTC), 8),  # 00:00 EDT, Mon 9 March
    ]
    assert [(start, pnl) for start, _, pnl, *_ in table(Period.DAY, fills)] == [
        ("2026-03-06", 1), ("2026-03-07", 2), ("2026-03-08", 4), ("2026-03-09", 8),
    ]  # fmt: skip


def test_the_same_fills_cut_in_utc_days_would_differ(settings):
    settings.DISPLAY_TIME_ZONE = "UTC"
    fills = [realized(dt.datetime(2026, 3, 9, 3, 59, tzinfo=UTC), 4), realized(dt.datetime(2026, 3, 9, 4, 0, tzinfo=UTC), 8)]
    assert [(start, pnl) for start, _, pnl, *_ in table(Period.DAY, fills)] == [("2026-03-09", 12)]


def test_weeks_start_on_monday_and_months_on_the_first_in_the_display_zone():
    fills = [
        realized(dt.datetime(2026, 3, 2, 4, 30, tzinfo=UTC), 1),  # Sun 1 March 23:30 EST: the week of 23 Feb
        realized(dt.datetime(2026, 3, 2, 15, 0, tzinfo=UTC), 2),  # Mon 2 March
        realized(dt.datetime(2026, 3, 8, 20, 0, tzinfo=UTC), 4),  # Sun 8 March
    ]
    assert [(s, p) for s, _, p, *_ in table(Period.WEEK, fills)] == [("2026-02-23", 1), ("2026-03-02", 6)]
    assert [(s, p) for s, _, p, *_ in table(Period.MONTH, fills)] == [("2026-03-01", 7)]
    february = [realized(dt.datetime(2026, 3, 1, 4, 30, tzinfo=UTC), 16)]  # Sat 28 February 23:30 EST
    assert [(s, p) for s, _, p, *_ in table(Period.MONTH, fills + february)] == [("2026-02-01", 16), ("2026-03-01", 7)]


def test_trips_count_where_they_closed_per_strategy_and_unrealized_sits_on_today():
    at = dt.datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    rows = period_table(
        realizations=[realized(at, 5.0), realized(at, -3.0, strategy="beta")],
        round_trips=[trip(at, 5.0), trip(at, -3.0, strategy="beta"), trip(at, 0.0, strategy="beta")],
        unrealized={"alpha": 12.5}, period=Period.DAY, today=dt.date(2026, 3, 20),
    )  # fmt: skip
    assert [r.as_dict() for r in rows] == [
        {"start": "2026-03-03", "strategy": "alpha", "realized": 5.0, "unrealized": 0.0, "commission": 1.0, "trades": 1, "wins": 1, "losses": 0},
        {"start": "2026-03-03", "strategy": "beta", "realized": -3.0, "unrealized": 0.0, "commission": 1.0, "trades": 2, "wins": 0, "losses": 1},
        {"start": "2026-03-20", "strategy": "alpha", "realized": 0.0, "unrealized": 12.5, "commission": 0.0, "trades": 0, "wins": 0, "losses": 0},
    ]  # fmt: skip


def test_since_and_until_are_display_zone_days_inclusive():
    fills = [realized(dt.datetime(2026, 3, d, 15, 0, tzinfo=UTC), d) for d in (3, 4, 5, 6)]
    rows = table(Period.DAY, fills, since=dt.date(2026, 3, 4), until=dt.date(2026, 3, 5))
    assert [s for s, *_ in rows] == ["2026-03-04", "2026-03-05"]
