"""A disconnect longer than NOTIFY_DISCONNECT_SECONDS and the daily summary, on an injected clock."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.notify.factories import connection, fill
from trading.models import NotifyKind, NotifySend, WorkerHeartbeat
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


def test_a_worker_that_dies_without_a_word_is_told_by_its_silent_heartbeat(disconnect_after_two_minutes, receiver, clock):
    beat = WorkerHeartbeat.objects.create(name="ibworker", mode="paper", pid=4242, connected=True, updated_at=clock.now)

    notify_step(now=clock.advance(119))
    assert receiver.received == []
    notify_step(now=clock.advance(2))  # 121 s of silence: the watch opens at the last beat, already too old
    notify_step(now=clock.advance(30))  # told once
    [payload] = receiver.received
    assert payload["title"] == "Worker disconnected [paper] for 2 min 1 s"
    assert "no heartbeat from the IB worker (ibworker, pid 4242): it may have crashed" in payload["message"]

    WorkerHeartbeat.objects.filter(pk=beat.pk).update(updated_at=clock.advance(60))  # restarted
    notify_step(now=clock.advance(1))
    assert receiver.received[1]["title"] == "Worker reconnected [paper] after 3 min 31 s"
    WorkerHeartbeat.objects.filter(pk=beat.pk).update(updated_at=clock.advance(300))  # beating
    notify_step(now=clock.advance(1))
    assert len(receiver.received) == 2


def test_a_stopped_worker_is_told_once_not_by_the_entry_and_the_heartbeat_both(disconnect_after_two_minutes, receiver):
    stopped = connection("stopped")
    WorkerHeartbeat.objects.create(name="ibworker", mode="paper", pid=1, updated_at=stopped.created_at)
    notify_step(now=stopped.created_at + timedelta(seconds=500))
    assert [p["title"] for p in receiver.received] == ["Worker disconnected [paper] for 8 min 20 s"]
