"""A submission writes its run row once and reads its routing once; a q2 task whose run went to the
worker directly keeps off the database while the worker claims it (issue #16, `summary` latency).

Before: the row was INSERTed, then UPDATEd with the q2 task id after the enqueue, while the worker was
claiming the run (on SQLite both need the file's write lock); the connections were read twice and the
worker's heartbeat twice; and the q2 task read the run and handed it over again the moment the cluster
started it, racing the worker's claim for the same lock.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.signing import SignedPackage

from trading.intents import tasks
from trading.intents.runs import q2_broker, run_finish, run_submit
from trading.models import IBConnection, IntentRun, RunSource, RunStatus, WorkerHeartbeat

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_url")]


@pytest.fixture
def live_worker(db) -> WorkerHeartbeat:
    return WorkerHeartbeat.objects.create(name="ibworker", connected=True, updated_at=timezone.now(), mode="paper")


@pytest.fixture
def enqueued(monkeypatch) -> list[dict]:
    """The q2 tasks the submission pushes to the broker, unsigned (the broker itself is not reached)."""
    pushed: list[dict] = []
    monkeypatch.setattr(q2_broker(), "enqueue", lambda pack: pushed.append(SignedPackage.loads(pack)) or "1")
    return pushed


def writes_to(table: str, queries) -> list[str]:
    return [q["sql"] for q in queries if table in q["sql"] and q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))]


def reads_of(table: str, queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT") and f'FROM "{table}"' in q["sql"]]


def test_the_run_row_is_inserted_once_with_the_q2_task_id_it_is_enqueued_under(
    live_worker, enqueued, django_capture_on_commit_callbacks
):
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        run, created = run_submit(intent="summary", params={}, source=RunSource.API)

    [write] = writes_to(IntentRun._meta.db_table, queries.captured_queries)
    assert write.lstrip().upper().startswith("INSERT"), "the run row is never updated for its task id"
    [task] = enqueued
    assert created and run.task_id and IntentRun.objects.get().task_id == run.task_id == task["id"]
    assert task["args"] == (run.pk, run.created_at.isoformat(), True), "the task is told the worker has the run"


def test_the_connections_and_heartbeats_are_read_once_per_submission(live_worker, enqueued):
    IBConnection.objects.filter(name="default").update(mode="paper", accounts=["DU1"], enabled=True)
    assert IBConnection.objects.filter(name="default").exists()
    with CaptureQueriesContext(connection) as queries:
        run, _ = run_submit(intent="summary", params={}, source=RunSource.API)

    assert (run.account, run.connection, run.mode) == ("DU1", "default", "paper")
    assert len(reads_of(IBConnection._meta.db_table, queries.captured_queries)) == 1
    assert len(reads_of(WorkerHeartbeat._meta.db_table, queries.captured_queries)) == 1


def test_a_direct_hand_off_that_failed_is_said_to_the_task(
    live_worker, enqueued, monkeypatch, django_capture_on_commit_callbacks
):
    def redis_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr("trading.live.worker_command_send", redis_down)
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = run_submit(intent="summary", params={}, source=RunSource.API)

    [task] = enqueued
    assert task["args"][2] is False, "the task hands the run over itself, at once"


class FakeClock:
    """`tasks.monotonic`/`tasks.sleep`: time moves only when the task sleeps; `on_sleep` runs as it does."""

    def __init__(self, on_sleep=None):
        self.now, self.slept, self.on_sleep = 0.0, [], on_sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(len(self.slept))


def queued_run() -> IntentRun:
    now = timezone.now()
    return IntentRun.objects.create(
        intent="summary", mode="paper", source=RunSource.API, dry_run=True, start_deadline=now + timedelta(seconds=30)
    )


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    handed: list[int] = []
    monkeypatch.setattr(tasks, "worker_command_send", lambda message, connection: handed.append(message["run_id"]))
    return handed


def test_a_handed_run_claimed_by_the_worker_is_not_handed_over_again_and_the_task_reads_nothing_first(monkeypatch, sent):
    run = queued_run()
    reads_before_the_first_pause = []

    def the_worker_claims_and_finishes(pauses: int) -> None:
        if pauses == 1:
            reads_before_the_first_pause.append(len(queries.captured_queries))
            IntentRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=timezone.now())
            run_finish(run.pk, status=RunStatus.SUCCEEDED, result={"account": "DU1"})

    clock = FakeClock(the_worker_claims_and_finishes)
    monkeypatch.setattr(tasks, "monotonic", clock.monotonic)
    monkeypatch.setattr(tasks, "sleep", clock.sleep)
    with CaptureQueriesContext(connection) as queries:
        outcome = tasks.intent_task(run.pk, run.created_at.isoformat(), True)

    assert outcome == {"account": "DU1"} and sent == []
    assert reads_before_the_first_pause == [0], "the task touched the database while the worker was claiming"
    assert clock.slept == [tasks.HANDED_POLL]


def test_a_handed_run_still_queued_after_the_grace_is_handed_over_again(monkeypatch, sent):
    run = queued_run()
    clock = FakeClock()
    monkeypatch.setattr(tasks, "monotonic", clock.monotonic)
    monkeypatch.setattr(tasks, "sleep", clock.sleep)
    monkeypatch.setattr(tasks, "run_await", lambda run_id, **kwargs: IntentRun.objects.get(pk=run_id))
    IntentRun.objects.filter(pk=run.pk).update(start_deadline=timezone.now())  # so the task ends by expiring it

    with pytest.raises(tasks.IntentRunFailed, match="expired"):
        tasks.intent_task(run.pk, run.created_at.isoformat(), True)

    assert sent == [run.pk] and sum(clock.slept) == pytest.approx(tasks.HANDED_GRACE)


def test_a_run_not_handed_directly_is_handed_over_at_once(monkeypatch, sent):
    run = queued_run()
    clock = FakeClock()
    monkeypatch.setattr(tasks, "monotonic", clock.monotonic)
    monkeypatch.setattr(tasks, "sleep", clock.sleep)
    monkeypatch.setattr(tasks, "run_await", lambda run_id, **kwargs: IntentRun.objects.get(pk=run_id))

    with pytest.raises(tasks.IntentRunFailed, match="still|queued"):
        tasks.intent_task(run.pk, run.created_at.isoformat(), False)

    assert sent == [run.pk] and clock.slept == []


def test_a_web_request_enqueues_the_q2_task_only_once_its_response_is_out(live_worker, enqueued, django_capture_on_commit_callbacks):
    """`task_later` (console.handler.after_response): the cluster picking up the task would compete with
    the worker running the body for the same cores, so the task waits for the response."""
    later: list = []
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = run_submit(intent="summary", params={}, source=RunSource.API, task_later=later.append)

    assert enqueued == [] and len(later) == 1, "enqueued before the response"
    later[0]()
    [task] = enqueued
    assert task["id"] == run.task_id and task["args"] == (run.pk, run.created_at.isoformat(), True)


def test_a_run_not_handed_to_the_worker_is_enqueued_at_once(live_worker, enqueued, django_capture_on_commit_callbacks, monkeypatch):
    """Redis refused the direct hand-off: the q2 task is how the worker hears of the run (or the sweep)."""
    from trading import live

    def refused(command, *, connection="default"):
        raise ConnectionError("refused")

    monkeypatch.setattr(live, "worker_command_send", refused)
    later: list = []
    with django_capture_on_commit_callbacks(execute=True):
        run_submit(intent="summary", params={}, source=RunSource.API, task_later=later.append)

    assert later == [] and len(enqueued) == 1 and enqueued[0]["args"][2] is False
