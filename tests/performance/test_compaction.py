"""Equity snapshots: minute points for recent days, one per display-zone day beyond."""

import datetime as dt
from decimal import Decimal

import pytest

from trading.models import EquityResolution, EquitySnapshot
from trading.performance.equity import equity_compact

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 3, 20, 16, 0, tzinfo=UTC)  # Fri 20 March, 12:00 EDT


@pytest.fixture(autouse=True)
def new_york(settings, zone_from_settings):
    settings.DISPLAY_TIME_ZONE = "America/New_York"


def snapshot(at: dt.datetime, value: float, mode: str = "paper") -> EquitySnapshot:
    return EquitySnapshot.objects.create(
        mode=mode, taken_at=at, net_liquidation=Decimal(str(value)), currency="USD", reason="minute"
    )


def rows(mode="paper"):
    return list(EquitySnapshot.objects.filter(mode=mode).order_by("taken_at").values_list("net_liquidation", "resolution"))


def test_old_days_keep_their_last_point_and_recent_days_keep_every_minute():
    old = dt.datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    for minute, value in enumerate((100, 101, 102)):
        snapshot(old + dt.timedelta(minutes=minute), value)
    # 23:30 EDT on 10 March is 03:30 UTC on the 11th: still the 10th's last point in New York
    snapshot(dt.datetime(2026, 3, 11, 3, 30, tzinfo=UTC), 103)
    snapshot(dt.datetime(2026, 3, 11, 14, 0, tzinfo=UTC), 110)
    recent = dt.datetime(2026, 3, 19, 14, 0, tzinfo=UTC)
    for minute in range(3):
        snapshot(recent + dt.timedelta(minutes=minute), 120 + minute)
    snapshot(dt.datetime(2026, 3, 10, 14, 0, tzinfo=UTC), 500, mode="live")

    equity_compact(mode="paper", now=NOW, minute_days=7)

    day, minute = EquityResolution.DAY, EquityResolution.MINUTE
    assert rows() == [(103, day), (110, day), (120, minute), (121, minute), (122, minute)]
    assert rows("live") == [(500, minute)]  # another mode is its own history


def test_the_cut_is_the_start_of_the_oldest_minute_day_in_the_display_zone():
    # minute_days=7 on Fri 20 March keeps 14–20 March whole: 04:00 UTC on the 14th is midnight EDT
    snapshot(dt.datetime(2026, 3, 14, 3, 59, tzinfo=UTC), 1)  # 23:59 on the 13th
    snapshot(dt.datetime(2026, 3, 14, 3, 58, tzinfo=UTC), 2)
    snapshot(dt.datetime(2026, 3, 14, 4, 0, tzinfo=UTC), 3)
    snapshot(dt.datetime(2026, 3, 14, 4, 1, tzinfo=UTC), 4)
    equity_compact(mode="paper", now=NOW, minute_days=7)
    assert rows() == [(1, "day"), (3, "minute"), (4, "minute")]


def test_compaction_is_idempotent_and_a_late_minute_row_does_not_replace_the_day_row():
    snapshot(dt.datetime(2026, 3, 10, 14, 0, tzinfo=UTC), 100)
    snapshot(dt.datetime(2026, 3, 10, 15, 0, tzinfo=UTC), 101)
    equity_compact(mode="paper", now=NOW, minute_days=7)
    equity_compact(mode="paper", now=NOW, minute_days=7)
    assert rows() == [(101, "day")]
    snapshot(dt.datetime(2026, 3, 10, 16, 0, tzinfo=UTC), 102)
    equity_compact(mode="paper", now=NOW, minute_days=7)
    assert rows() == [(101, "day")]


def test_each_account_keeps_its_own_last_point_of_the_day():
    old = dt.datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    for minute, (account, value) in enumerate((("DU1", 100), ("DU2", 500), ("DU1", 101), ("DU2", 501), ("DU1", 102))):
        EquitySnapshot.objects.create(
            mode="paper", account=account, taken_at=old + dt.timedelta(minutes=minute), net_liquidation=Decimal(value),
            currency="USD", reason="minute",
        )  # fmt: skip

    equity_compact(mode="paper", now=NOW, minute_days=7)
    equity_compact(mode="paper", now=NOW, minute_days=7)  # idempotent: each account's day row stays

    kept = EquitySnapshot.objects.order_by("account").values_list("account", "net_liquidation", "resolution")
    assert list(kept) == [("DU1", 102, "day"), ("DU2", 501, "day")]
