"""Missing bars for a backtest, asked of the IB worker through the `fetch_bars` intent (the one
submission path), then the backtest is started again; this process never talks to IB itself."""

from __future__ import annotations

from collections.abc import Callable

from trading.backtest.context import BarsMissing
from trading.intents.runs import WorkerUnavailable, run_submit, run_wait
from trading.models import RunSource, RunStatus

FETCH_TIMEOUT = 660.0  # fetch_bars' start window + timeout + margin
ROUNDS = 4  # a strategy may name a new symbol once the first one's bars are there
WORKER_DOWN = "asking the IB worker for them failed: {reason}"
FETCH_FAILED = "fetch_bars run #{run} ended {status}: {error}"


def bars_fetch_missing(run: Callable[[], dict], *, log: Callable[[str], None], source: str = RunSource.CLI, user=None) -> dict:
    """`run()`, and while it stops on missing bars, fetch them through the worker and run it again."""
    for _ in range(ROUNDS):
        try:
            return run()
        except BarsMissing as missing:
            for symbol, bar_size, what_to_show, first, last in missing.ranges:
                log(f"asking the IB worker for {symbol} {bar_size} {what_to_show} bars, {first} to {last}")
                params = {
                    "symbol": symbol,
                    "barSize": bar_size,
                    "whatToShow": what_to_show,
                    "start": first.isoformat(),
                    "end": last.isoformat(),
                }
                try:
                    submitted, _ = run_submit(intent="fetch_bars", params=params, dry_run=False, source=source, requested_by=user)
                except WorkerUnavailable as exc:
                    raise BarsMissing(missing.ranges, note=WORKER_DOWN.format(reason=exc)) from None
                final = run_wait(submitted.pk, timeout=FETCH_TIMEOUT)
                if final.status != RunStatus.SUCCEEDED:
                    raise BarsMissing(
                        missing.ranges,
                        note=FETCH_FAILED.format(run=final.pk, status=final.status, error=final.error),
                    ) from None
    return run()
