"""Backtest speed: a daily strategy over 5 years, a 30-minute strategy over 1 year, on sample bars.

Targets (issue #19): `spy_macd_vixy` (daily, stepped at the close) over 5 years < 10 s;
`testsignalgenerator` (30-minute bars, stepped at every bar's end) over 1 year < 60 s. Each runs in a
fresh SQLite database under a temporary directory (sample bars stored first, not timed), through the
same `backtest_run` the CLI uses, and is profiled once with cProfile to say where the time goes::

    python bench/bench_backtest.py [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CASES = (
    # name, strategy, bar size, symbols, first stored day, start, end, every, target seconds
    ("daily, 5 years", "spy_macd_vixy", "1 day", ("SPY", "VIXY"), dt.date(2020, 1, 1), dt.date(2021, 1, 1), dt.date(2025, 12, 31), None, 10.0),
    ("30 minutes, 1 year", "testsignalgenerator", "30 mins", ("SPY",), dt.date(2024, 12, 1), dt.date(2025, 1, 1), dt.date(2025, 12, 31), "30 mins", 60.0),
)  # fmt: skip


def setup() -> None:
    directory = tempfile.mkdtemp(prefix="bench-backtest-")
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}/bench.sqlite3"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print the top functions by cumulative time")
    args = parser.parse_args()
    setup()
    from trading.backtest.bars import bars_store
    from trading.backtest.engine import BacktestSettings, backtest_run
    from trading.backtest.sample import sample_bars

    print(
        f"bench_backtest  {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  load {os.getloadavg()[0]:.2f}  python {sys.version.split()[0]}"
    )
    for name, strategy, bar_size, symbols, first, start, end, every, target in CASES:
        stored = sum(
            bars_store(symbol=s, bar_size=bar_size, what_to_show="TRADES", source="sample",
                       rows=sample_bars(symbol=s, bar_size=bar_size, first=first, last=end))
            for s in symbols
        )  # fmt: skip
        settings = BacktestSettings(every=every, exposure=0.9, strategy_exposure=1.0)
        run = lambda: backtest_run(strategy=strategy, start=start, end=end, settings=settings)  # noqa: B023, E731
        times, result = [], None
        for _ in range(args.repeat):
            began = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - began)
        metrics = result["metrics"]
        verdict = "met" if max(times) < target else "MISSED"
        print(
            f"{name:20} {strategy:20} {stored:6d} bars stored  {metrics['steps']:5d} steps  {metrics['fills']:4d} fills  "
            f"median {statistics.median(times):6.2f} s  max {max(times):6.2f} s  "
            f"({statistics.median(times) / metrics['steps'] * 1e3:.2f} ms/step)  target < {target:g} s: {verdict}"
        )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            run()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
