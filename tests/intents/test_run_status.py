"""A run's status is the truth: `interrupted` only for a run whose worker is gone, a final status never
overwritten nor reported as another, and a body stopped once its run is finalised elsewhere.

The race of issue 13 item 6 is driven deterministically: the worker is paused inside its first recorder
flush after connecting (where it waits before the orphan sweep) while a run is handed to it."""

import asyncio
import threading

import pytest

from tests.harness import WorkerThread, wait_until
from trading.intents import Intent, IntentParams, intent_register
from trading.intents.executor import IntentExecutor
from trading.intents.runs import run_submit, run_wait
from trading.models import ActivityEntry, IntentRun, RunSource, RunStatus
from trading.worker.recorder import Recorder

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

GATES: dict[int, asyncio.Event] = {}  # run id → the event its body waits for (on the worker's loop)
CANCELLED: set[int] = set()


@intent_register
class WaitForTheTest(Intent):
    """Runs until the test says go: a run that is certainly still `running` at the dangerous moment."""

    name = "test_wait_for_go"
    requires_ib = False

    class Params(IntentParams):
        pass

    async def run(self, ctx, params):
        gate = GATES.setdefault(ctx.run.pk, asyncio.Event())
        try:
            await gate.wait()
        except asyncio.CancelledError:
            CANCELLED.add(ctx.run.pk)
            raise
        return {"went": True}


def go(worker: WorkerThread, run: IntentRun) -> None:
    wait_until(lambda: run.pk in GATES, what=f"run #{run.pk}'s body to start")
    worker.loop.call_soon_threadsafe(GATES[run.pk].set)


def status(run: IntentRun) -> str:
    return IntentRun.objects.get(pk=run.pk).status


def messages(run: IntentRun) -> list[str]:
    return list(ActivityEntry.objects.filter(run=run).order_by("id").values_list("message", flat=True))


def submit() -> IntentRun:
    run, _ = run_submit(intent="test_wait_for_go", dry_run=False, source=RunSource.API, check_worker=False)
    return run


@pytest.fixture
def paused_at_the_first_flush(monkeypatch):
    """The worker's first wait for the recorder (in on_connected, before the orphan sweep) waits for `resume`."""
    reached, resume = threading.Event(), threading.Event()
    flush = Recorder.written_through

    async def flush_then_pause(recorder):
        await flush(recorder)
        if not reached.is_set():
            reached.set()
            await asyncio.get_running_loop().run_in_executor(None, resume.wait, 30)

    monkeypatch.setattr(Recorder, "written_through", flush_then_pause)
    yield reached, resume
    resume.set()


def test_a_run_handed_over_between_connect_and_the_orphan_sweep_runs_and_is_never_marked_interrupted(
    paper_gateway, redis_url, tmp_path, paused_at_the_first_flush
):
    reached, resume = paused_at_the_first_flush
    executor = IntentExecutor(sweep_interval=0.1)
    worker = WorkerThread(port=paper_gateway.port, var_dir=tmp_path, handler_paths=[], extensions=[executor]).start()
    try:
        wait_until(reached.is_set, what="the worker to pause between connecting and the orphan sweep")
        run = submit()
        worker.call(executor.on_command({"type": "run.execute", "run_id": run.pk}))
        # The worker has decided: either it declined the run for now, or it is executing it (claimed).
        wait_until(lambda: run.pk not in executor.in_progress or status(run) == RunStatus.RUNNING, what="the hand-off")
        resume.set()
        wait_until(lambda: ActivityEntry.objects.filter(message__startswith="connected to").exists(),
                   what="the worker past its on_connected hooks (the orphan sweep)")  # fmt: skip
        go(worker, run)

        run = run_wait(run.pk, timeout=15)
    finally:
        worker.stop()
    assert run.status == RunStatus.SUCCEEDED, f"{run.status}: {run.error}"
    assert not any("interrupted" in message for message in messages(run)), messages(run)


def test_a_run_finalised_elsewhere_has_its_body_stopped_and_is_never_reported_succeeded(console_worker):
    run = submit()
    wait_until(lambda: run.pk in GATES and status(run) == RunStatus.RUNNING, what="the run to be executing")

    # As a newer owner's sweep (or an operator) would: the run is final while its body still runs.
    IntentRun.objects.filter(pk=run.pk).update(status=RunStatus.INTERRUPTED, error="the IB worker stopped")
    wait_until(lambda: run.pk in CANCELLED, what="the body to be cancelled")
    wait_until(lambda: any("stays interrupted" in m for m in messages(run)), what="the late end to be recorded")

    assert status(run) == RunStatus.INTERRUPTED
    assert not any(message.endswith("succeeded") for message in messages(run)), messages(run)
