"""Backtests asked from the admin or the API: a `Backtest` row, run as a django-q2 task in the cluster
(never on the IB worker), its progress written to the row as it goes.

    queued ──claim (conditional UPDATE)──▶ running ──▶ succeeded | failed
                                             └── past the cluster's timeout ──▶ failed (when next read)

Invariants: a backtest runs at most once (the claim's row count decides); input errors are refused
at submission (nothing is recorded); the row's `result` is the same JSON `manage.py backtest --json`
prints; missing bars are fetched through the worker's `fetch_bars` intent when `fetch` is set, and
otherwise fail the backtest with the ranges named. The task has the cluster's timeout (600 s): five
years of a daily strategy take about a second (docs/BENCHMARKS.md); a redelivered task finds the row
claimed and does nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.db import transaction
from django.utils import timezone

from trading.backtest.context import BarsMissing
from trading.backtest.engine import (
    END_BEFORE_START,
    BacktestError,
    BacktestSettings,
    backtest_run,
    settings_resolve,
    strategy_intent,
)
from trading.models import Backtest, BacktestStatus

log = logging.getLogger("trading.backtest")
PROGRESS_EVERY = 1.0  # seconds between progress writes
STOPPED = "the task cluster stopped this backtest at its {seconds} s timeout"
SETTING_NAMES = ("cash", "exposure", "strategy_exposure", "commission", "slippage_bps", "fill", "every", "strategy_id")


def backtest_submit(*, strategy: str, start: dt.date, end: dt.date, options: dict, source: str, user=None) -> Backtest:
    """Check the input (BacktestError with the reason), record a queued Backtest and enqueue it after commit."""
    intent = strategy_intent(strategy)
    if end < start:
        raise BacktestError(END_BEFORE_START.format(start=start, end=end))
    settings = BacktestSettings(**{k: v for k, v in options.items() if k in SETTING_NAMES and v is not None})
    resolved = settings_resolve(intent, settings)  # checked, and the snapshot taken now, when it was asked for
    resolved["fetch"] = bool(options.get("fetch"))
    backtest = Backtest.objects.create(
        strategy=intent.name, start=start, end=end, settings=resolved, source=source,
        requested_by=user if getattr(user, "is_authenticated", False) else None,
    )  # fmt: skip
    transaction.on_commit(lambda: _enqueue(backtest.pk))
    return backtest


def _enqueue(backtest_id: int) -> None:
    from django_q.tasks import async_task

    try:
        async_task("trading.backtest.tasks.backtest_task", backtest_id, task_name=f"backtest #{backtest_id}")
    except Exception as exc:  # the broker is down: say so on the row rather than leave it queued forever
        log.warning("could not enqueue backtest #%s: %s", backtest_id, exc)
        Backtest.objects.filter(pk=backtest_id, status=BacktestStatus.QUEUED).update(
            status=BacktestStatus.FAILED, error=f"could not reach the task queue: {exc}", finished_at=timezone.now()
        )


def backtest_task(backtest_id: int) -> dict | None:
    """The q2 task: claim, run, record. Returns the metrics (q2 keeps them with the task)."""
    claimed = Backtest.objects.filter(pk=backtest_id, status=BacktestStatus.QUEUED).update(
        status=BacktestStatus.RUNNING, started_at=timezone.now(), progress=0.0
    )
    if not claimed:
        return None
    backtest = Backtest.objects.get(pk=backtest_id)
    saved = dict(backtest.settings)
    settings = BacktestSettings(
        cash=saved["cash"], exposure=saved["overall_exposure"], strategy_exposure=saved["strategy_exposure"],
        commission=saved["commission"], slippage_bps=saved["slippage_bps"], fill=saved["fill"], every=saved["every"],
        strategy_id=saved["strategy_id"],
    )  # fmt: skip
    run = lambda: backtest_run(  # noqa: E731
        strategy=backtest.strategy,
        start=backtest.start,
        end=backtest.end,
        settings=settings,
        progress=_progress_writer(backtest_id),
    )
    try:
        if saved.get("fetch"):
            from trading.backtest.fetch import bars_fetch_missing

            result = bars_fetch_missing(run, log=log.info, source="system")
        else:
            result = run()
    except (BacktestError, BarsMissing) as exc:
        _finish(backtest_id, status=BacktestStatus.FAILED, error=str(exc))
        return None
    except Exception as exc:
        log.exception("backtest #%s failed", backtest_id)
        _finish(backtest_id, status=BacktestStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    _finish(backtest_id, status=BacktestStatus.SUCCEEDED, result=result, progress=1.0)
    return result["metrics"]


def backtests_expire_stale() -> int:
    """A running backtest older than the cluster's task timeout was killed with its task: say so."""
    from django.conf import settings

    limit = settings.Q_CLUSTER.get("timeout", 600) + 60
    return Backtest.objects.filter(
        status=BacktestStatus.RUNNING, started_at__lt=timezone.now() - dt.timedelta(seconds=limit)
    ).update(status=BacktestStatus.FAILED, error=STOPPED.format(seconds=limit - 60), finished_at=timezone.now())


def _progress_writer(backtest_id: int):
    last = [0.0]

    def write(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY or done == total:
            last[0] = now
            Backtest.objects.filter(pk=backtest_id).update(progress=round(done / max(total, 1), 4))

    return write


def _finish(backtest_id: int, *, status: str, error: str = "", result: dict | None = None, progress: float | None = None) -> None:
    changes = {"status": status, "error": error, "result": result, "finished_at": timezone.now()}
    if progress is not None:
        changes["progress"] = progress
    Backtest.objects.filter(pk=backtest_id, status=BacktestStatus.RUNNING).update(**changes)
