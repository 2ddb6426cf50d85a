"""Where the time of ``POST /api/intents/summary?wait=30`` goes, step by step, from the rows' own timestamps.

For each call: the client's send and receive times, the run's ``created_at`` (submitted), the q2 task's
``started`` (the cluster picked it up), ``started_at`` (the worker claimed it), ``finished_at`` (its body
and outcome recorded). All processes run on this machine, so their wall clocks agree. Then, in this
process, the API's own steps timed alone: ``run_submit`` and, inside it, the q2 enqueue. Prints medians::

    python bench/profile_summary.py --backend sqlite [-n 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import Stack, load_average, print_header  # noqa: E402


def api_call(stack: Stack, token: str) -> tuple[float, float, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.web_port}/api/intents/summary?wait=30", data=b"{}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    sent = time.time()
    with urllib.request.urlopen(request, timeout=60) as response:
        run = json.loads(response.read())
    return sent, time.time(), run


def steps(stack: Stack, token: str, n: int) -> dict[str, list[float]]:
    from django_q.models import Task

    from trading.models import IntentRun

    rows: dict[str, list[float]] = {}
    for _ in range(n):
        sent, received, body = api_call(stack, token)
        run = IntentRun.objects.get(pk=body["id"])
        task = Task.objects.filter(name=f"intent-run-{run.pk}").first()
        created, started, finished = (t.timestamp() for t in (run.created_at, run.started_at, run.finished_at))
        marks = {
            "HTTP + auth + params → run row": created - sent,
            "run row → claimed by the worker": started - created,
            "claimed → outcome recorded (body + run_finish)": finished - started,
            "outcome recorded → response received (wait + response)": received - finished,
            "total": received - sent,
        }
        if task is not None and task.started:
            marks["run row → q2 task started"] = task.started.timestamp() - created
            marks["q2 task started → claimed"] = started - task.started.timestamp()
            rows.setdefault("claimed before the q2 task started", []).append(started < task.started.timestamp())
        for name, seconds in marks.items():
            rows.setdefault(name, []).append(seconds * 1000)
    return rows


def in_process(n: int) -> dict[str, list[float]]:
    """The API's own work without HTTP: `run_submit` (validate, row, activity, enqueue), and the enqueue alone."""
    from django_q.tasks import async_task

    from trading.intents.runs import run_submit

    rows: dict[str, list[float]] = {"run_submit (in process)": [], "q2 async_task alone (in process)": []}
    for _ in range(n):
        started = time.perf_counter()
        run_submit(intent="summary", params={}, source="api")
        rows["run_submit (in process)"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        async_task("math.floor", 1.5)
        rows["q2 async_task alone (in process)"].append((time.perf_counter() - started) * 1000)
    return rows


def api_in_process(token: str, n: int) -> dict[str, list[float]]:
    """The API request without HTTP and daphne: Django's test client in this process, against the same
    worker (what the view, its authentication, `run_submit` and the wait cost on their own)."""
    from django.test import Client

    client = Client(headers={"Authorization": f"Bearer {token}"})
    rows: dict[str, list[float]] = {"API view (in process, no HTTP)": []}
    for _ in range(n):
        started = time.perf_counter()
        response = client.post("/api/intents/summary?wait=30", b"{}", content_type="application/json")
        rows["API view (in process, no HTTP)"].append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument(
        "--cprofile", action="store_true", help="also print where run_submit's and the API view's own time goes (cProfile)"
    )
    args = parser.parse_args()
    stack = Stack(args.backend, name="profsum")
    stack.setup_django()
    print_header("summary via the API, step by step", args.backend)
    from django.contrib.auth import get_user_model

    from trading.tokens import token_create

    try:
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-1")
        token = token_create(user=user, name="bench")[1]
        stack.start_gateway(tick_interval=0.25, master=False)
        stack.start_web()
        stack.start_cluster()
        stack.start_worker()
        api_call(stack, token)  # warm
        rows = steps(stack, token, args.n)
        rows.update(in_process(args.n))
        rows.update(api_in_process(token, args.n))
        if args.cprofile:
            import cProfile
            import pstats

            for what in (lambda: in_process(args.n), lambda: api_in_process(token, args.n)):
                profiler = cProfile.Profile()
                profiler.runcall(what)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"trading|django_q|channels|asgiref|ninja", 40)
    finally:
        stack.teardown()
    for name, values in rows.items():
        if isinstance(values[0], bool):
            print(f"{name:58s} {sum(values)} of {len(values)}")
            continue
        print(f"{name:58s} p50 {statistics.median(values):7.1f} ms   max {max(values):7.1f} ms  (n={len(values)})")
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
