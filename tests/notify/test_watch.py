"""A disconnect longer than NOTIFY_DISCONNECT_SECONDS and the daily summary, on an injected clock."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.notify.factories import connection, fill
from trading.models import NotifyKind, NotifySend
from trading.notify.tasks import notify_step

pytestmark = pytest.mark.django_db
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def disconnect_after_two_minutes(settings, notify_urls):
    settings.NOTIFY_DISCONNECT_SECONDS = 120


def test_a_disconnect_shorter_than_the_limit_sends_nothing(disconnect_after_two_minutes, receiver):
    down = connection("disconnected")
    notify_step(now=down.created_at + timedelta(seconds=60))
    connection("connected")
    notify_step(now=down.created_at + timedelta(seconds=200))
    assert receiver.received == []


def test_a_disconnect_longer_than_the_limit_is_told_once_and_its_end_too(disconnect_after_two_minutes, receiver):
    down = connection("disconnected")
    connection("ib_link_down")  # still down: the watch keeps its start
    notify_step(now=down.created_at + timedelta(seconds=119))
    assert receiver.received == []

    notify_step(now=down.created_at + timedelta(seconds=121))
    notify_step(now=down.created_at + timedelta(seconds=300))
    [payload] = receiver.received
    assert payload["title"] == "Worker disconnected [paper] for 2 min 1 s"
    assert payload["type"] == "failure"

    up = connection("connected")
    notify_step(now=up.created_at + timedelta(seconds=400))
    assert receiver.received[1]["title"].startswith("Worker reconnected [paper] after ")
    assert NotifySend.objects.filter(kind=NotifyKind.DISCONNECTED).count() == 2


def test_the_daily_summary_goes_once_a_day_at_the_set_time(settings, notify_urls, receiver):
    settings.NOTIFY_DAILY_SUMMARY_AT = "17:00"
    settings.DISPLAY_TIME_ZONE = "America/New_York"
    fill(shares="3", executed_at="2026-11-20T15:30:00+00:00", realized_pnl="12.5", commission="1.25")

    notify_step(now=datetime(2026, 11, 20, 16, 59, tzinfo=NEW_YORK))
    assert [p["title"] for p in receiver.received] == ["Fill [paper]: BUY 3 SPY @ 400.25"]

    notify_step(now=datetime(2026, 11, 20, 17, 0, tzinfo=NEW_YORK))
    notify_step(now=datetime(2026, 11, 20, 23, 59, tzinfo=NEW_YORK))
    summaries = [p for p in receiver.received if p["title"].startswith("Daily summary")]
    assert [p["title"] for p in summaries] == ["Daily summary 2026-11-20"]
    assert summaries[0]["message"].splitlines()[0] == "paper: 1 fill(s), realized P&L 12.50, commission 1.25"

    notify_step(now=datetime(2026, 11, 21, 16, 0, tzinfo=NEW_YORK))
    notify_step(now=datetime(2026, 11, 21, 17, 30, tzinfo=NEW_YORK))
    summaries = [p for p in receiver.received if p["title"].startswith("Daily summary")]
    assert [p["title"] for p in summaries] == ["Daily summary 2026-11-20", "Daily summary 2026-11-21"]
    assert summaries[1]["message"].splitlines()[0] == "no fills"


def test_the_daily_summary_can_be_turned_off(settings, notify_urls, receiver):
    settings.NOTIFY_DAILY_SUMMARY_AT = ""
    notify_step(now=datetime(2026, 11, 20, 18, 0, tzinfo=NEW_YORK))
    assert receiver.received == []
