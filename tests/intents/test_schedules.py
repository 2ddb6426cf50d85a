"""Schedules: the seeded example is disabled, enabling computes the next run from now, and a due schedule
submits its intent through the one submission path (django-q2's scheduler, tasks run in-process)."""

import ast
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.scheduler import scheduler

from trading.intents.registry import IntentNotFound
from trading.intents.runs import IntentParamsInvalid, run_wait
from trading.intents.schedules import SCHEDULE_FUNC, schedule_create, schedule_disable, schedule_enable, schedule_intent
from trading.models import ActivityEntry, ActivityKind, IntentRun, RunSource, RunStatus
from trading.notify.tasks import TICK_SCHEDULE

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
EXAMPLE = "daily orchestrator (example)"


@pytest.fixture
def tasks_in_process(monkeypatch, redis_url):
    """django-q2's sync mode: a task runs inside async_task, as a cluster worker would run it."""
    monkeypatch.setattr(Conf, "SYNC", True)


def run_due_schedules():
    scheduler(broker=get_broker())


def test_the_example_daily_orchestrator_is_seeded_disabled():
    schedule = Schedule.objects.get(name=EXAMPLE)
    assert (schedule.func, schedule.schedule_type, schedule.cron) == (SCHEDULE_FUNC, Schedule.CRON, "15 16 * * 1-5")
    assert schedule.repeats == 0 and schedule.next_run is None
    assert schedule_intent(schedule) == {"intent": "orchestrator", "params": {}}


def test_a_disabled_schedule_never_fires(tasks_in_process):
    Schedule.objects.filter(name=EXAMPLE).update(next_run=timezone.now() - timezone.timedelta(minutes=5))

    run_due_schedules()

    assert Schedule.objects.get(name=EXAMPLE).task is None
    assert not IntentRun.objects.exists()


def test_enabling_computes_the_next_run_from_now_so_nothing_fires_late(alice):
    schedule = Schedule.objects.get(name=EXAMPLE)

    schedule_enable(schedule=schedule, user=alice)

    schedule.refresh_from_db()
    assert schedule.repeats == -1 and schedule.next_run > timezone.now()
    local = schedule.next_run.astimezone(ZoneInfo(Conf.TIME_ZONE))  # cron is read in the scheduler's time zone
    assert (local.hour, local.minute) == (16, 15) and local.weekday() < 5
    assert ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE, actor=alice, message__contains="enabled").exists()
    schedule_disable(schedule=schedule, user=alice)
    assert Schedule.objects.get(pk=schedule.pk).repeats == 0


def test_a_schedule_is_created_with_validated_parameters(alice):
    schedule = schedule_create(
        name="allocation, one strategy",
        intent="allocation",
        params={"freshMinutes": 30, "strategies": ["spy_macd_vixy"], "dryRun": False},
        dry_run=None,
        cron="0 10 * * 1-5",
        enabled=False,
        user=alice,
    )
    call = ast.literal_eval(schedule.kwargs)
    assert call == {"intent": "allocation", "params": {"freshMinutes": 30, "strategies": ["spy_macd_vixy"]}, "dry_run": False}
    assert schedule.repeats == 0 and schedule.next_run is None


def test_bad_schedules_are_refused_with_the_reason():
    with pytest.raises(IntentParamsInvalid, match="unknown strategy 'nobody'"):
        schedule_create(
            name="x", intent="allocation", params={"strategies": ["nobody"]}, dry_run=True, cron="0 10 * * *", enabled=True
        )
    with pytest.raises(IntentNotFound):
        schedule_create(name="x", intent="nope", params={}, dry_run=True, cron="0 10 * * *", enabled=True)
    with pytest.raises(ValidationError, match="not a cron expression"):
        schedule_create(name="x", intent="summary", params={}, dry_run=True, cron="every day at ten", enabled=True)
    assert not Schedule.objects.exclude(name__in=[EXAMPLE, TICK_SCHEDULE]).exists()  # the seeded ones only


def test_a_due_schedule_submits_its_intent_and_the_worker_runs_it(console_worker, tasks_in_process):
    schedule = schedule_create(
        name="reconcile hourly", intent="reconcile", params={}, dry_run=True, cron="0 * * * *", enabled=True
    )
    Schedule.objects.filter(pk=schedule.pk).update(next_run=timezone.now() - timezone.timedelta(seconds=1))

    run_due_schedules()

    run = IntentRun.objects.get()
    assert (run.intent, run.source, run.dry_run) == ("reconcile", RunSource.SCHEDULE, True)
    assert run_wait(run.pk, timeout=20).status == RunStatus.SUCCEEDED
    schedule.refresh_from_db()
    assert schedule.task and schedule.next_run > timezone.now()
