"""django-q2 tasks: every intent run is a q2 task whose success or failure mirrors the run's.

The task hands the run to the IB worker of the run's connection (the only client of that gateway) over its channel and waits for
the outcome within the intent's start window and timeout. The worker also sweeps for queued runs, so
a hand-off lost while it restarted is still picked up before the run's start deadline.
"""

from __future__ import annotations

import logging

from trading.intents.registry import intent_get
from trading.intents.runs import run_await, run_expire
from trading.live import worker_command_send
from trading.models import IntentRun, RunStatus

log = logging.getLogger("trading.intents.tasks")


class IntentRunFailed(RuntimeError):
    pass


class StaleTask(RuntimeError):
    pass


def intent_task(run_id: int, created_at: str | None = None) -> dict | None:
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
