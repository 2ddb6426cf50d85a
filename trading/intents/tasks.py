"""django-q2 tasks: every intent run is a q2 task whose success or failure mirrors the run's.

The task hands the run to the IB worker of the run's connection (the only client of that gateway) over its channel and waits for
the outcome within the intent's start window and timeout. The worker also sweeps for queued runs, so
a hand-off lost while it restarted is still picked up before the run's start deadline.
"""

from __future__ import annotations

import logging
from time import monotonic, sleep

from trading.intents.registry import intent_get
from trading.intents.runs import run_await, run_expire
from trading.live import worker_command_send
from trading.models import IntentRun, RunStatus

log = logging.getLogger("trading.intents.tasks")


class IntentRunFailed(RuntimeError):
    pass


class StaleTask(RuntimeError):
    pass


HANDED_GRACE = 1.0  # seconds a task whose run went to the worker directly gives the worker to claim it
HANDED_POLL = 0.25  # between its reads meanwhile


def intent_task(run_id: int, created_at: str | None = None, handed: bool = False) -> dict | None:
    """Mirror the run's outcome; hand the run to the worker unless it has it.

    `handed`: the submission handed the run to the worker directly (runs.run_enqueue), which claims
    it within milliseconds, about when the cluster starts this task. The task then stays off the
    database for the first HANDED_POLL (on SQLite every reader takes the file's lock the worker's
    claim and outcome commits need) and checks every HANDED_POLL, up to HANDED_GRACE, whether the run
    was claimed; only a run still queued after that is handed over again."""
    if handed:
        _claim_wait(run_id)
    run = IntentRun.objects.filter(pk=run_id).first()
    if run is None or (created_at is not None and run.created_at.isoformat() != created_at):
        raise StaleTask(f"run #{run_id} created at {created_at} no longer exists; this task is stale and does nothing")
    if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        return _outcome(run)
    intent_cls = intent_get(run.intent)
    if run.status == RunStatus.QUEUED:
        try:
            worker_command_send({"type": "run.execute", "run_id": run_id}, connection=run.connection)
        except Exception as exc:  # Redis down: the worker's sweep still finds the run before its deadline
            log.warning("could not notify the worker of run #%s: %s", run_id, exc)
    # A run the worker's sweep started before this task did is waited for, not reported as overrun.
    window = (run.start_deadline - run.created_at).total_seconds() + intent_cls.timeout + 10
    run = run_await(run_id, timeout=window, poll=0.2, connection=run.connection)
    if run.status == RunStatus.QUEUED:
        run_expire(run_id)
        run.refresh_from_db()
    return _outcome(run)


def _claim_wait(run_id: int) -> None:
    deadline = monotonic() + HANDED_GRACE
    while monotonic() < deadline:
        sleep(min(HANDED_POLL, max(0.0, deadline - monotonic())))
        if not IntentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).exists():
            return


def _outcome(run: IntentRun) -> dict | None:
    if run.status == RunStatus.SUCCEEDED:
        return run.result
    if run.status == RunStatus.RUNNING:
        raise IntentRunFailed(f"run #{run.pk} {run.intent} still running past its timeout")
    raise IntentRunFailed(f"run #{run.pk} {run.intent} {run.status}: {run.error}")


def intent_scheduled(intent: str, params: dict | None = None, dry_run: bool | None = None) -> int:
    """Entry point for django-q2 schedules: submit a run from the schedule (its own task mirrors it)."""
    from trading.intents.runs import run_submit
    from trading.models import RunSource

    run, _ = run_submit(intent=intent, params=params or {}, dry_run=dry_run, source=RunSource.SCHEDULE)
    return run.pk
