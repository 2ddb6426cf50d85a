"""Where the time of ``POST /api/intents/close_all?wait=120`` (flattening 50 positions) goes, from the rows'
own timestamps: the run's ``created_at`` (submitted) and ``started_at`` (claimed by the worker), its
closing orders' rows (``created_at``), their fills (``executed_at`` as the gateway stamps it and
``recorded_at``), the run's ``finished_at`` and the response. All processes run on this machine, so
their wall clocks agree. Prints each step's median over the runs::

    python bench/profile_close_all.py --backend sqlite [-n 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_intents import POSITIONS, api_call, flat, open_positions  # noqa: E402
from bench.stack import Stack, load_average, print_header, wait_for  # noqa: E402


def steps(stack: Stack, token: str, n: int) -> dict[str, list[float]]:
    from trading.models import Fill, IntentRun, Order

    rows: dict[str, list[float]] = {}
    for _ in range(n):
        open_positions(stack)
        sent = time.time()
        elapsed, body = api_call(stack, token, "close_all", {"dryRun": False}, 120)
        received = sent + elapsed
        wait_for(lambda: flat(stack), timeout=60, what="flat after close_all")
        run = IntentRun.objects.get(pk=body["id"])
        orders = list(Order.objects.filter(run=run).order_by("created_at"))
        fills = list(Fill.objects.filter(order__run=run).order_by("executed_at"))
        assert len(orders) == POSITIONS and len(fills) >= POSITIONS, (len(orders), len(fills))
        created, started, finished = (t.timestamp() for t in (run.created_at, run.started_at, run.finished_at))
        first_row, last_row = orders[0].created_at.timestamp(), orders[-1].created_at.timestamp()
        first_fill, last_fill = fills[0].executed_at.timestamp(), fills[-1].executed_at.timestamp()
        last_recorded = max(f.recorded_at for f in fills).timestamp()
        marks = {
            "HTTP + auth + params → run row": created - sent,
            "run row → claimed by the worker": started - created,
            "claimed → first closing order's row": first_row - started,
            "rows written (first → last row)": last_row - first_row,
            "last row → first fill at the gateway": first_fill - last_row,
            "first → last fill at the gateway": last_fill - first_fill,
            "last fill → recorded": last_recorded - last_fill,
            "last fill → outcome recorded": finished - last_fill,
            "outcome recorded → response received": received - finished,
            "total": received - sent,
        }
        for name, seconds in marks.items():
            rows.setdefault(name, []).append(seconds * 1000)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("-n", type=int, default=3)
    args = parser.parse_args()
    stack = Stack(args.backend, name="close-all-profile")
    stack.setup_django()
    print_header("close_all step by step", args.backend)
    from django.contrib.auth import get_user_model

    from trading.tokens import token_create

    try:
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-1")
        token = token_create(user=user, name="bench")[1]
        stack.start_gateway(tick_interval=0.25, extra_stocks=POSITIONS, master=False)
        stack.start_web()
        stack.start_cluster()
        stack.start_worker()
        api_call(stack, token, "summary", {}, 30)  # warm
        rows = steps(stack, token, args.n)
    finally:
        stack.teardown()
    for name, values in rows.items():
        print(f"{name:45s} median {statistics.median(values):8.1f} ms  (runs: {', '.join(f'{v:.0f}' for v in values)})")
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
