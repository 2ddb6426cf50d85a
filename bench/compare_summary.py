"""`summary` via the API from two trees at once, call for call: does a change make it faster?

The machine's speed drifts by a third within an hour here, and two benchmark runs one after the other
differ by more than most changes do. This starts one whole stack per tree (gateway, web, cluster,
worker; each on its own database and Redis), both up at the same time, and alternates their calls: A,
B, A, B, … (with the connect-per-request script's call between rounds, so the calls keep IB's pace as
bench_intents.py's do). Each tree answers in the same minute as the other, so the drift cancels::

    git worktree add /tmp/before HEAD~1
    python bench/compare_summary.py --a /tmp/before --b . --backend sqlite [-n 60] [--no-script] [--kept 250]

`--kept 250`: each database starts with 250 successful task records, as a console that has run 250
intents keeps them (q2's default limit).

Prints each tree's p50/p95 and the per-pair difference (median of B − A over the pairs). Each stack
runs from its own tree (its code and its bench/stack.py); this file drives both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()


def task_records_fill(count: int) -> None:
    """`count` successful q2 task records, as a console that has run that many intents keeps (q2 keeps
    its newest 250 by default), each with a summary's result."""
    from datetime import timedelta

    from django.utils import timezone
    from django_q.humanhash import uuid
    from django_q.models import Task

    result = {"account": "DU1", "account_summary": [{"tag": f"T{i}", "value": "1.0", "currency": "USD"} for i in range(68)]}
    now = timezone.now()
    Task.objects.bulk_create(
        Task(id=uuid()[1], name=f"intent-run-old-{n}", func="trading.intents.tasks.intent_task", args=(n, None, True),
             kwargs={}, started=now - timedelta(minutes=n), stopped=now - timedelta(minutes=n), result=result, success=True)
        for n in range(count)
    )  # fmt: skip


def serve(tree: Path, backend: str, kept: int = 0) -> None:
    """One tree's stack, driven over stdin/stdout: `api` → one summary's seconds; `script` → the script's.
    Everything else this process prints goes to stderr: stdout carries only the answers. The stack is
    started here, as bench_intents.console_up does, and not through it: a tree from before that helper
    must run too."""
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.path.insert(0, str(tree))
    from bench.bench_intents import api_call, script_call  # the tree's own
    from bench.stack import Stack

    stack = Stack(backend, name="cmp")
    stack.setup_django()
    try:
        from django.contrib.auth import get_user_model

        from trading.tokens import token_create

        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-1")
        token = token_create(user=user, name="bench")[1]
        task_records_fill(kept)
        stack.start_gateway(tick_interval=0.25, extra_stocks=50, master=False)
        stack.start_web()
        stack.start_cluster()
        stack.start_worker()
        for _ in range(3):
            api_call(stack, token, "summary", {}, 30)  # warm
        print("ready", file=answers, flush=True)
        client_id = 100
        for line in sys.stdin:
            command = line.strip()
            if command == "api":
                print(api_call(stack, token, "summary", {}, 30)[0], file=answers, flush=True)
            elif command == "script":
                client_id += 1
                print(script_call(stack, "summary", client_id)[0], file=answers, flush=True)
            else:
                break
    finally:
        stack.teardown()


class Side:
    def __init__(self, name: str, tree: Path, backend: str, kept: int = 0):
        self.name, self.tree = name, tree
        self.process = subprocess.Popen(
            [sys.executable, str(HERE), "--serve", str(tree), "--backend", backend, "--kept", str(kept)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tree,
        )  # fmt: skip
        self.api: list[float] = []
        self.script: list[float] = []

    def ready(self) -> None:
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"{self.name} ({self.tree}) did not start: {line!r}")

    def ask(self, command: str) -> float:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(timeout=120)


def ms(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", type=Path, help="the tree measured first in each pair (the before)")
    parser.add_argument("--b", type=Path, help="the other tree (the after)")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("-n", type=int, default=60, help="calls per tree")
    parser.add_argument("--no-script", action="store_true", help="no script call between rounds (a 50 ms pause instead)")
    parser.add_argument("--kept", type=int, default=0, help="successful q2 task records there at the start (q2 keeps 250)")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve.resolve(), args.backend, args.kept)
        return
    sides = [Side(name, tree.resolve(), args.backend, args.kept) for name, tree in (("A", args.a), ("B", args.b))]
    try:
        for side in sides:
            side.ready()
        for i in range(args.n):
            first, second = sides if i % 2 == 0 else sides[::-1]  # each goes first in every other round
            for side in (first, second):
                side.api.append(side.ask("api"))
            if args.no_script:
                time.sleep(0.05)  # keeps the calls under IB's pacing, as the script's call does
            else:
                sides[i % 2].script.append(sides[i % 2].ask("script"))
    finally:
        for side in sides:
            side.close()
    a, b = sides
    differences = [(y - x) * 1000 for x, y in zip(a.api, b.api, strict=True)]
    result = {"backend": args.backend, "n": args.n, "kept": args.kept}
    for side in sides:
        result[side.name] = {"tree": str(side.tree), "p50": round(ms(side.api, 50), 1), "p95": round(ms(side.api, 95), 1)}
        line = f"{side.name} {side.tree}: API p50 {ms(side.api, 50):.1f} ms p95 {ms(side.api, 95):.1f} ms"
        if side.script:
            result[side.name]["script_p50"] = round(ms(side.script, 50), 1)
            line += f"; script p50 {ms(side.script, 50):.1f} ms (n={len(side.script)})"
        print(line)
    result["b_minus_a_median_ms"] = round(statistics.median(differences), 2)
    scripts = a.script + b.script
    if scripts:
        result["script_p50"] = round(ms(scripts, 50), 1)
        print(f"script p50 over both: {ms(scripts, 50):.1f} ms; ratio at p50: A {ms(scripts, 50) / ms(a.api, 50):.1f}x, "
              f"B {ms(scripts, 50) / ms(b.api, 50):.1f}x")  # fmt: skip
    print(f"B - A per pair: median {statistics.median(differences):+.2f} ms (n={len(differences)})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
