"""What recording one finished q2 task costs the cluster's monitor, by how many successes are kept.

q2's own pruning (`save_limit` > 0) reads every kept success at each save, pickled arguments and result
included, inside a transaction (on SQLite an IMMEDIATE one: the file's write lock). The console sets
`save_limit` 0 and prunes in one DELETE a minute instead (trading/taskrecords.py). This times q2's
`monitor.save_task` for an intent run's task (a `summary`-sized result) after `--kept` successes, with
q2's pruning (save_limit = kept) and with the console's (save_limit 0)::

    python bench/bench_task_records.py --backend sqlite [--kept 250] [-n 40]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import Stack, percentile, print_header  # noqa: E402

RESULT = {"account": "DU1", "account_summary": [{"tag": f"T{i}", "value": "1.0", "currency": "USD"} for i in range(68)]}


def package(n: int) -> dict:
    from django.utils import timezone
    from django_q.humanhash import uuid

    now = timezone.now()
    return {"id": uuid()[1], "name": f"intent-run-{n}", "func": "trading.intents.tasks.intent_task", "args": (n, None, True),
            "kwargs": {}, "started": now, "stopped": now, "result": RESULT, "success": True, "group": None, "hook": None}  # fmt: skip


def measure(kept: int, save_limit: int, n: int) -> float:
    """p50 ms of one save_task after `kept` successes are recorded."""
    from django_q import monitor
    from django_q.conf import Conf
    from django_q.models import Task

    Task.objects.all().delete()
    Conf.SAVE_LIMIT = save_limit
    for i in range(kept):
        monitor.save_task(package(i), None)
    samples = []
    for i in range(n):
        task = package(kept + i)
        started = time.perf_counter()
        monitor.save_task(task, None)
        samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--kept", type=int, default=250)
    parser.add_argument("-n", type=int, default=40)
    args = parser.parse_args()
    stack = Stack(args.backend, name="taskrecords")
    stack.setup_django()
    print_header("recording a q2 task", args.backend)
    try:
        with_q2 = measure(args.kept, args.kept, args.n)
        console = measure(args.kept, 0, args.n)
    finally:
        stack.teardown()
    print(f"save_task after {args.kept} successes: q2's pruning (save_limit {args.kept}) p50 {with_q2:.2f} ms; "
          f"the console's (save_limit 0, pruned apart) p50 {console:.2f} ms (n={args.n})")  # fmt: skip


if __name__ == "__main__":
    main()
