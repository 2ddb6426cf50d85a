"""The feed reads the activity log from its cursor: what each entry becomes, and nothing lost when the
broker is down when the entry is written."""

import pytest
from django_q.conf import Conf

from tests.harness import wait_until
from tests.notify.factories import connection, fill, refused
from trading.activity import activity_record
from trading.config import config_update
from trading.models import ActivityEntry, ActivityKind, IntentRun, NotifyCursor, NotifyKind, NotifySend, RunStatus
from trading.notify import tasks
from trading.notify.rules import entry_kind
from trading.notify.tasks import notify_step

pytestmark = pytest.mark.django_db


def test_nothing_is_lost_when_redis_is_down_at_activity_time(
    notify_urls, receiver, clock, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")  # nothing listens there: the broker is dead
    failed_before = tasks.kick_counts["failed"]

    with django_capture_on_commit_callbacks(execute=True) as kicks:
        fill(shares="7")  # the worker's write path; its kick fails on a thread of its own
        entry = refused()  # a web/intent write path (activity_record → on_commit kick)
    assert len(kicks) == 2
    wait_until(lambda: tasks.kick_counts["failed"] > failed_before, what="the kick to meet the dead broker")
    assert tasks._enqueue_tick() is False  # the kick itself, in this thread: it swallows the broker's error

    assert ActivityEntry.objects.filter(pk=entry.pk).exists()
    assert NotifySend.objects.count() == 0  # nothing sent yet: the cluster never heard
    notify_step(now=clock.now)  # later, the schedule's tick reads from the cursor
    assert sorted(p["title"] for p in receiver.received) == [
        "Fill [paper]: BUY 7 SPY @ 400.25",
        "Order rejected [paper]: refused: BUY 1 SPY MKT — trading is stopped (kill switch)",
    ]
    assert NotifyCursor.objects.get().last_entry_id == entry.pk


def test_an_id_committed_late_below_the_cursor_is_still_read(notify_urls, receiver, clock):
    first = refused("one")
    second = refused("two")
    cursor = NotifyCursor.objects.get()
    cursor.last_entry_id = second.pk  # as if `second` committed before `first` was visible
    cursor.holes = {str(first.pk): clock.now.isoformat()}
    cursor.save()

    notify_step(now=clock.now)

    assert [p["title"] for p in receiver.received] == ["Order rejected [paper]: refused: BUY 1 SPY MKT — one"]
    assert NotifyCursor.objects.get().holes == {}


def _entry(**fields):
    return activity_record(message=fields.pop("message", "x"), **fields)


def test_the_table_maps_entries_to_kinds(alice):
    failed = IntentRun.objects.create(intent="allocation", source="cli", status=RunStatus.FAILED)
    interrupted = IntentRun.objects.create(intent="allocation", source="cli", status=RunStatus.INTERRUPTED)
    cases = [
        (_entry(kind=ActivityKind.ORDER, payload={"status": "Inactive"}), NotifyKind.ORDER_REJECTED),
        (_entry(kind=ActivityKind.ORDER, payload={"status": "Filled"}), None),
        (_entry(kind=ActivityKind.INTENT_RUN, run=failed, severity="warning", payload={"status": "failed"}), NotifyKind.RUN_FAILED),
        (_entry(kind=ActivityKind.INTENT_RUN, run=failed, severity="warning", payload={"status": "partial"}), NotifyKind.RUN_FAILED),
        (_entry(kind=ActivityKind.INTENT_RUN, run=failed, payload={"status": "succeeded"}), None),
        (_entry(kind=ActivityKind.INTENT_RUN, run=failed, severity="warning", payload={"status": "failed", "body_status": "failed"}), None),
        (_entry(kind=ActivityKind.INTENT_RUN, run=interrupted, severity="warning", payload={"orders": []}), NotifyKind.RUN_FAILED),
        (_entry(kind=ActivityKind.INTENT_RUN, run=interrupted, payload={"params": {}, "source": "cli"}), None),
        (_entry(kind=ActivityKind.RISK, payload={"breaches": ["loss"], "trading_enabled_before": True}), NotifyKind.KILL_SWITCH),
        (_entry(kind=ActivityKind.RISK, payload={"breaches": ["loss"], "trading_enabled_before": False}), None),
        (_entry(kind=ActivityKind.EXTERNAL_POSITION_CHANGE, payload={"delta": "5"}), NotifyKind.EXTERNAL_POSITION),
        (_entry(kind=ActivityKind.HANDLER_ERROR), None),
    ]  # fmt: skip
    assert [entry_kind(entry) for entry, _ in cases] == [kind for _, kind in cases]


def test_the_kill_switch_engaged_by_a_person_and_tripped_by_risk_check_are_told_once_each(notify_urls, receiver, clock, alice):
    config_update(scope="common", changes={"trading_enabled": True}, user=alice, source="admin")  # released: no message
    config_update(scope="common", changes={"trading_enabled": False}, user=alice, source="admin")
    config_update(scope="paper", changes={"trading_enabled": False}, source="risk_check")  # told by its RISK entry
    activity_record(
        kind=ActivityKind.RISK, severity="warning", mode="paper",
        message="risk limit breached (loss over limit): trading turned off for paper (kill switch)",
        payload={"breaches": ["loss over limit"], "trading_enabled_before": True},
    )  # fmt: skip

    notify_step(now=clock.now)

    [payload] = receiver.received  # a burst of one kind: one message
    assert payload["title"].startswith("2 kill switch events: alice changed common settings (trading enabled: yes → no); ")
    assert payload["message"].splitlines() == [
        "• alice changed common settings (trading enabled: yes → no)",
        "• risk limit breached (loss over limit): trading turned off for paper (kill switch)",
    ]


def test_a_kill_switch_message_says_who_engaged_it(notify_urls, receiver, clock, alice):
    config_update(scope="common", changes={"trading_enabled": True}, user=alice, source="admin")
    config_update(scope="common", changes={"trading_enabled": False}, user=alice, source="admin")
    notify_step(now=clock.now)
    assert [p["title"] for p in receiver.received] == [
        "Kill switch engaged by a person: alice changed common settings (trading enabled: yes → no)"
    ]


def test_connection_entries_are_not_a_message_each(notify_urls, receiver, clock):
    connection("disconnected")
    connection("connected")
    notify_step(now=clock.now)
    assert receiver.received == []


def test_kicks_within_a_second_are_carried_not_dropped(monkeypatch):
    enqueued = []
    monkeypatch.setattr(tasks, "_enqueue_tick", lambda: enqueued.append(1) or True)
    monkeypatch.setattr(tasks, "KICK_EVERY", 0.3)
    tasks.notify_kick()
    wait_until(lambda: len(enqueued) == 1, what="the first kick")
    tasks.notify_kick()  # inside the kicker's quiet time: carried to its end
    tasks.notify_kick()
    wait_until(lambda: len(enqueued) == 2, what="the carried kick")


def test_only_an_entry_that_may_become_a_message_wakes_the_notifier(django_capture_on_commit_callbacks):
    """A run queued and a run succeeded (two entries per run, many a second under load) ask the cluster
    for no tick; a failed run, a fill and a connection change do."""
    run = IntentRun.objects.create(intent="summary", params={}, mode="paper", source="api", status=RunStatus.SUCCEEDED)
    quiet = [
        {"kind": ActivityKind.INTENT_RUN, "run": run, "payload": {"params": {}, "source": "api"}},
        {"kind": ActivityKind.INTENT_RUN, "run": run, "payload": {"status": RunStatus.SUCCEEDED}},
    ]
    for fields in quiet:
        with django_capture_on_commit_callbacks(execute=False) as kicks:
            _entry(**fields)
        assert kicks == [], fields
    with django_capture_on_commit_callbacks(execute=False) as kicks:
        _entry(kind=ActivityKind.INTENT_RUN, run=run, severity="warning", payload={"status": RunStatus.FAILED})
    assert len(kicks) == 1
    with django_capture_on_commit_callbacks(execute=False) as kicks:
        connection("disconnected")
        fill(shares="1")
    assert len(kicks) == 2
