"""A waiter hears from the worker when its run is done (`run_await`: a `run.wait` request on the worker's
channel) instead of polling the database, and still gets the outcome when that word is lost.

The run's body waits for the test (a gate), so the run is certainly still executing while the waiter
waits. WAIT_SLICE is how long a waiter listens before it reads the run itself: set to 30 s, a waiter
that returns within a few seconds was woken by the worker's answer, not by its own read."""

import asyncio
import threading
import time

import pytest

from tests.harness import wait_until
from trading.intents import Intent, IntentParams, intent_register, runs
from trading.intents import executor as executor_module
from trading.intents.executor import _fetch_and_claim
from trading.intents.runs import run_await, run_submit
from trading.models import IntentRun, RunSource, RunStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

GATES: dict[int, asyncio.Event] = {}  # run id → the event its body waits for (on the worker's loop)
BODIES: list[int] = []  # run ids, once per body started


@intent_register
class AwaitGate(Intent):
    """Reads nothing, places nothing: runs until the test says go."""

    name = "test_await_gate"
    requires_ib = False

    class Params(IntentParams):
        pass

    async def run(self, ctx, params):
        BODIES.append(ctx.run.pk)
        await GATES.setdefault(ctx.run.pk, asyncio.Event()).wait()
        return {"went": True}


def submit() -> IntentRun:
    run, _ = run_submit(intent="test_await_gate", dry_run=False, source=RunSource.API, check_worker=False)
    return run


def go(worker, run: IntentRun) -> None:
    wait_until(lambda: run.pk in GATES, what=f"run #{run.pk}'s body to start")
    worker.loop.call_soon_threadsafe(GATES[run.pk].set)


class Waiter(threading.Thread):
    """`run_await` on a thread of its own (as a request thread of the web process would)."""

    def __init__(self, run_id: int, timeout: float):
        super().__init__(daemon=True)
        self.run_id, self.timeout = run_id, timeout
        self.reply_to: str | None = None  # the channel the run's hand-off asked the worker to answer on
        self.submitted: IntentRun | None = None  # the submitter's copy of the run, for the answer's outcome
        self.outcome: IntentRun | None = None
        self.seconds: float | None = None

    def run(self) -> None:
        from django.db import connection

        started = time.monotonic()
        try:
            self.outcome = run_await(self.run_id, timeout=self.timeout, reply_to=self.reply_to, submitted=self.submitted)
        finally:
            self.seconds = time.monotonic() - started
            connection.close()


@pytest.fixture
def polls(monkeypatch):
    """The waits `run_await` falls back to (`run_wait` with time left): none while the worker answers."""
    calls = []
    run_wait = runs.run_wait

    def counted(run_id, *, timeout, poll=0.1):
        if timeout > 0:
            calls.append(timeout)
        return run_wait(run_id, timeout=timeout, poll=poll)

    monkeypatch.setattr(runs, "run_wait", counted)
    return calls


def test_the_waiter_is_woken_by_the_worker_once_the_run_is_done_not_by_polling(console_worker, monkeypatch, polls):
    monkeypatch.setattr(runs, "WAIT_SLICE", 30.0)
    run = submit()
    wait_until(lambda: run.pk in GATES, what="the body to start")
    waiter = Waiter(run.pk, timeout=60)
    waiter.start()
    wait_until(lambda: run.pk in console_worker.extensions[0]._waiters, what="the worker to hold the waiter's request")
    assert waiter.is_alive(), "the waiter returned while the run was still executing"

    go(console_worker, run)
    waiter.join(20)

    assert waiter.outcome is not None and waiter.outcome.status == RunStatus.SUCCEEDED, waiter.outcome
    assert waiter.outcome.result["went"] is True
    assert waiter.seconds < 20, f"took {waiter.seconds:.1f}s: woken by its own read, not the worker"
    assert polls == [], "fell back to polling although the worker answered"


def test_a_waiter_whose_hand_off_carried_its_reply_channel_asks_nothing_and_is_woken_once_done(
    console_worker, monkeypatch, polls
):
    """The API's wait: run_submit's hand-off carries the reply channel, so the worker answers there
    without a `run.wait` request, and only once the run is done."""
    from trading import live

    monkeypatch.setattr(runs, "WAIT_SLICE", 30.0)
    asked = []

    async def counted(command, *, timeout, connection="default"):
        asked.append(command)
        return None

    monkeypatch.setattr(live, "worker_request", counted)
    reply_to = live.reply_channel_new()
    run, _ = run_submit(
        intent="test_await_gate", dry_run=False, source=RunSource.API, check_worker=False, reply_to=reply_to, reply_within=60
    )
    waiter = Waiter(run.pk, timeout=60)
    waiter.reply_to = reply_to
    waiter.start()
    wait_until(lambda: run.pk in console_worker.extensions[0]._waiters, what="the worker to hold the hand-off's reply")
    assert waiter.is_alive(), "the waiter returned while the run was still executing"

    go(console_worker, run)
    waiter.join(20)

    assert waiter.outcome is not None and waiter.outcome.status == RunStatus.SUCCEEDED, waiter.outcome
    assert waiter.seconds < 20, f"took {waiter.seconds:.1f}s: woken by its own read, not the worker"
    assert asked == [] and polls == [], "asked the worker, or polled, although the hand-off asked for the answer"


def test_the_workers_answer_carries_the_outcome_it_committed_so_the_waiter_reads_nothing_back(console_worker, monkeypatch):
    """The API's wait with its own copy of the run: the answer carries what the worker recorded, applied
    to that copy, equal field for field to the row; the run is not read back."""
    from trading import live

    monkeypatch.setattr(runs, "WAIT_SLICE", 30.0)
    reads = []
    run_wait = runs.run_wait
    monkeypatch.setattr(runs, "run_wait", lambda run_id, **kw: reads.append(run_id) or run_wait(run_id, **kw))
    reply_to = live.reply_channel_new()
    run, _ = run_submit(
        intent="test_await_gate", dry_run=False, source=RunSource.API, check_worker=False, reply_to=reply_to, reply_within=60
    )
    waiter = Waiter(run.pk, timeout=60)
    waiter.reply_to, waiter.submitted = reply_to, run
    waiter.start()
    wait_until(lambda: run.pk in console_worker.extensions[0]._waiters, what="the worker to hold the hand-off's reply")
    go(console_worker, run)
    waiter.join(20)

    assert waiter.outcome is run, "the waiter did not answer with its own copy"
    assert reads == [], "read the run back although the answer carried its outcome"
    row = IntentRun.objects.get(pk=run.pk)
    for name in runs.OUTCOME_FIELDS + ("id", "intent", "params", "created_at", "start_deadline", "account", "connection"):
        assert getattr(run, name) == getattr(row, name), name
    assert run.status == RunStatus.SUCCEEDED and run.result["went"] is True and run.started_at <= run.finished_at


def test_a_lost_answer_costs_one_slice_and_the_waiter_still_gets_the_outcome(console_worker, monkeypatch, polls):
    monkeypatch.setattr(runs, "WAIT_SLICE", 0.3)
    dropped = []

    async def lost(message, answer):  # Redis took the answer and never delivered it
        dropped.append(answer)

    monkeypatch.setattr(executor_module, "worker_reply", lost)
    run = submit()
    waiter = Waiter(run.pk, timeout=30)
    waiter.start()
    wait_until(lambda: run.pk in GATES, what="the body to start")
    go(console_worker, run)
    waiter.join(20)

    assert waiter.outcome is not None and waiter.outcome.status == RunStatus.SUCCEEDED, waiter.outcome
    assert dropped, "the worker never tried to answer"
    assert waiter.seconds < 10


def test_a_run_the_worker_is_not_executing_is_answered_at_once_and_then_polled_for(console_worker, monkeypatch, polls):
    """Another worker's run (claimed under a token that is not this worker's): the worker says so at
    once, and the waiter polls for the outcome instead of listening for an answer that will not come."""
    monkeypatch.setattr(runs, "WAIT_SLICE", 30.0)
    run = submit()
    go(console_worker, run)  # let the first run through; the next one is made to look claimed elsewhere
    wait_until(lambda: IntentRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED, what="the first run")
    other = IntentRun.objects.create(
        intent="test_await_gate", params={}, mode=run.mode, source=RunSource.API, status=RunStatus.RUNNING,
        lease_token=999, start_deadline=run.start_deadline,
    )  # fmt: skip
    waiter = Waiter(other.pk, timeout=30)
    waiter.start()
    wait_until(lambda: polls, what="the waiter to fall back to polling")
    IntentRun.objects.filter(pk=other.pk).update(status=RunStatus.SUCCEEDED, result={"elsewhere": True})
    waiter.join(10)

    assert waiter.outcome is not None and waiter.outcome.result == {"elsewhere": True}
    assert waiter.seconds < 10, "waited for an answer the worker had already given"


def test_a_waiter_that_cannot_ask_the_worker_polls_instead_of_asking_again_and_again(console_worker, monkeypatch, polls):
    """Redis refuses the request (worker_request answers None at once): the waiter polls for the rest of
    its wait, with one request, not one per read."""
    from trading import live

    monkeypatch.setattr(runs, "WAIT_SLICE", 30.0)
    asked = []

    async def refused(command, *, timeout, connection="default"):
        asked.append(command)
        return None

    monkeypatch.setattr(live, "worker_request", refused)
    run = submit()
    waiter = Waiter(run.pk, timeout=30)
    waiter.start()
    wait_until(lambda: polls, what="the waiter to fall back to polling")
    go(console_worker, run)
    waiter.join(20)

    assert waiter.outcome is not None and waiter.outcome.status == RunStatus.SUCCEEDED, waiter.outcome
    assert len(asked) == 1
    assert waiter.seconds < 20


def test_two_hand_offs_of_a_run_that_places_no_orders_claim_it_once(console_worker):
    """The worker fetches and claims a run that places no orders in one database call; two hand-offs of
    one run (the direct one and the q2 task's) still execute it once."""
    executor = console_worker.extensions[0]
    run = submit()
    console_worker.call(executor.on_command({"type": "run.execute", "run_id": run.pk}))
    console_worker.call(executor.on_command({"type": "run.execute", "run_id": run.pk}))
    wait_until(lambda: run.pk in GATES, what="the body to start")
    lease = console_worker.worker.lease
    again, config = _fetch_and_claim(run.pk, lease, mode="paper")  # a hand-off that arrives after the first left in_progress
    assert config is None, "claimed a second time"
    go(console_worker, run)
    wait_until(lambda: IntentRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED, what="the run to finish")
    assert BODIES.count(run.pk) == 1


def test_an_outcome_goes_in_the_answer_only_when_final_and_small_enough():
    from datetime import UTC, datetime

    run = IntentRun(pk=7, status=RunStatus.SUCCEEDED, result={"rows": [1, 2]}, error="", lease_token=3,
                    started_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC), finished_at=datetime(2026, 12, 1, 10, 0, 1, tzinfo=UTC))  # fmt: skip
    outcome = runs.run_outcome_dump(run)
    copy = runs.run_outcome_apply(IntentRun(pk=7, status=RunStatus.QUEUED), outcome)
    assert [getattr(copy, name) for name in runs.OUTCOME_FIELDS] == [getattr(run, name) for name in runs.OUTCOME_FIELDS]

    run.result = {"rows": "x" * runs.OUTCOME_MAX_CHARS}
    assert runs.run_outcome_dump(run) is None, "a large result is read back, not sent through Redis"
    run.result, run.status = {"rows": []}, RunStatus.RUNNING
    assert runs.run_outcome_dump(run) is None, "a run not final has no outcome to send"
