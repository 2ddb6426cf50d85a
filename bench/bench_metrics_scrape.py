"""What one scrape of the web's /metrics costs as intent runs pile up (its queries scan every run).

A throwaway SQLite database in a temporary var dir (never DATABASE_URL's), N runs spread over the
intents and statuses with durations, then the registry rendered as /metrics renders it, many times::

    python bench/bench_metrics_scrape.py [--runs 1000 10000 100000] [--scrapes 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup_django(var_dir: str) -> None:
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(CONSOLE_VAR_DIR=var_dir, DJANGO_SETTINGS_MODULE="console.settings", LOG_LEVEL="WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def add_runs(count: int) -> None:
    from django.utils import timezone

    from trading.models import IntentRun, RunStatus

    intents = ("summary", "close_all", "orchestrator", "allocation", "reconcile", "spy_macd_vixy")
    statuses = (RunStatus.SUCCEEDED,) * 6 + (RunStatus.FAILED, RunStatus.PARTIAL, RunStatus.EXPIRED, RunStatus.QUEUED)
    now = timezone.now()
    rows = []
    for i in range(count):
        status = statuses[i % len(statuses)]
        started = now - timedelta(minutes=i % 10_000) if status not in (RunStatus.EXPIRED, RunStatus.QUEUED) else None
        finished = started + timedelta(seconds=(i % 97) / 3) if started else None
        rows.append(
            IntentRun(intent=intents[i % len(intents)], source="system", status=status, started_at=started, finished_at=finished)
        )
    IntentRun.objects.bulk_create(rows, batch_size=2000)


def scrape_ms(scrapes: int) -> list[float]:
    from prometheus_client import generate_latest

    from trading.observability.web import metrics_registry

    times = []
    for _ in range(scrapes):
        started = time.perf_counter()
        generate_latest(metrics_registry())
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="metrics-bench-") as var_dir:
        setup_django(var_dir)
        from trading.models import IntentRun

        print(f"{'runs':>8} {'median ms':>10} {'p95 ms':>8}  (SQLite, {args.scrapes} scrapes each)")
        for target in sorted(args.runs):
            add_runs(target - IntentRun.objects.count())
            times = sorted(scrape_ms(args.scrapes))
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            print(f"{target:>8} {statistics.median(times):>10.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()
