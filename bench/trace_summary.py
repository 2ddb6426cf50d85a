"""Where the time of ``POST /api/intents/summary?wait=30`` goes, step by step, across all its processes.

bench/profile_summary.py reads the steps off the rows' timestamps; this one marks every step. It
copies the committed tree (``git archive HEAD``) to a scratch folder, adds a timestamp line at each
step of the copy's submission path (web: view, validation, routing, settings, the run and its entry
written, commit, hand-off; worker: its channel, command, fetch and settings (unless the hand-off carried
them), body, claim with outcome (its statement, its log), answer; web: answer, response), runs the
stack from the copy, and prints the median, p95 and maximum of each step (a step not reached is left
out)::

    python bench/trace_summary.py --backend sqlite [-n 40] [--gap 0.02]

The project's own code is never changed: a step whose line moved makes the copy's marking fail with
the line it looked for. All processes run on this machine, so their wall clocks agree.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
TRACE_ENV = "TRACE_SUMMARY_LOG"

STEPS = (
    "client sends", "view starts", "params validated", "routing read", "settings read",
    "run and its entry written", "committed", "handed to the worker", "worker's channel has it", "worker has the command",
    "run fetched", "settings read starts", "settings fetched", "body done", "claim starts", "claim written",
    "claim logged", "claimed with its outcome", "waiter answered", "web has the answer",
    "response built", "client has the response",
)  # fmt: skip

MARK = 'import os as _o, time as _t; open(_o.environ["{env}"], "a").write("%s\\t%s\\t%.6f\\n" % ({step!r}, {run}, _t.time()))'

# (file, the lines a step follows or precedes, "after"/"before", step, the expression naming the run: "0" =
# none yet, matched by time). A mark takes the indent of the anchor's first line, or "after" a block, of
# the block's first line (`for` … its body: after the whole loop).
MARKS = (
    ("trading/api/submission.py", "    _reject_nul(params)", "before", "view starts", "0"),
    ("trading/intents/runs.py", "    routing = Routing()  # the connections and their workers", "before", "params validated", "0"),
    ("trading/intents/runs.py", "    account, connection = run_account_resolve(intent, account", "before", "routing read", "0"),
    ("trading/intents/runs.py", "    if dry_run is None:\n        dry_run = config.dry_run_default\n    if check_worker", "before", "settings read", "0"),
    ("trading/intents/runs.py", "    activity_written(entry)\n    reply = {", "before", "run and its entry written", "run.pk"),
    ("trading/intents/runs.py", "    handed = True\n", "before", "committed", "run.pk"),
    ("trading/intents/runs.py", "    if handed and task_later is not None:", "before", "handed to the worker", "run.pk"),
    ("trading/intents/executor.py", "        if message.get(\"type\") == \"run.execute\":", "before", "worker's channel has it", "message.get('run_id', 0)"),
    ("trading/intents/executor.py", "    return effective_config(mode, account=getattr(run, \"account\"", "before", "settings read starts", "run.pk"),
    ("trading/intents/runs.py", "    claimable = IntentRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED, start_deadline__gt=started_at", "before", "claim starts", "run.pk"),
    ("trading/intents/runs.py", "        for name, value in outcome.items():", "before", "claim written", "run.pk"),
    ("trading/intents/runs.py", "        return run\n    run_expire(run.pk)", "before", "claim logged", "run.pk"),
    ("trading/intents/executor.py", "        finished = None  # the run as this worker recorded", "before", "worker has the command", "run_id"),
    ("trading/intents/executor.py", "    run = IntentRun.objects.get(pk=run_id)\n", "after", "run fetched", "run_id"),
    ("trading/intents/executor.py", "        started_at = timezone.now()\n        status, result, error = await self.run_body(", "before", "settings fetched", "run.pk"),
    ("trading/intents/executor.py", "        finished = await self.worker.db_guarded(  # its UPDATE", "before", "body done", "run.pk"),
    ("trading/intents/executor.py", "        if finished is None:\n            log.info(", "before", "claimed with its outcome", "run.pk"),
    ("trading/intents/executor.py", "            for message in waiters:\n                await self._wait_answer(message, run_id, outcome)\n", "after", "waiter answered", "run_id"),
    ("trading/intents/runs.py", "        failed = answer is None and time.monotonic() - asked", "before", "web has the answer", "run_id"),
    ("trading/api/submission.py", "    return Submitted(run=run, created=created)", "before", "response built", "run.pk"),
)  # fmt: skip


def instrument(root: Path) -> None:
    for relative, anchor, where, step, run in MARKS:
        path = root / relative
        text = path.read_text()
        if text.count(anchor) != 1:
            raise SystemExit(f"trace_summary: {relative} no longer has (once) the line after which to mark {step!r}:\n{anchor}")
        first = anchor.splitlines()[0]
        indent = first[: len(first) - len(first.lstrip())]
        mark = f"{indent}{MARK.format(env=TRACE_ENV, step=step, run=run)}\n"
        path.write_text(text.replace(anchor, mark + anchor if where == "before" else anchor + mark, 1))


def copy_instrumented() -> Path:
    root = Path(tempfile.mkdtemp(prefix="trace-summary-"))
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=HERE, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    (root / "bench" / "trace_summary.py").write_text(Path(__file__).read_text())  # this script as it is now
    instrument(root)
    return root


def drive(backend: str, n: int, gap: float, log: Path) -> list[tuple[int, float, float]]:
    """In the instrumented copy: the stack, warm-up, then `n` summaries; returns (run id, sent, received)."""
    from bench.bench_intents import api_call, console_up
    from bench.stack import Stack

    stack = Stack(backend, name="trace")
    stack.env[TRACE_ENV] = str(log)
    stack.setup_django()
    try:
        token = console_up(stack)
        for _ in range(5):
            api_call(stack, token, "summary", {}, 30)
        calls = []
        for _ in range(n):
            sent = time.time()
            _, run = api_call(stack, token, "summary", {}, 30)
            calls.append((run["id"], sent, time.time()))
            time.sleep(gap)
        return calls
    finally:
        stack.teardown()


def report(calls: list[tuple[int, float, float]], log: Path) -> None:
    from bench.stack import percentile

    by_run: dict[int, dict[str, float]] = {}
    by_time: dict[str, list[float]] = {}
    for line in log.read_text().splitlines():
        step, run, stamp = line.split("\t")
        if run == "0":
            by_time.setdefault(step, []).append(float(stamp))
        else:
            by_run.setdefault(int(run), {}).setdefault(step, float(stamp))
    durations: dict[str, list[float]] = {}
    for run, sent, received in calls:
        stamps = {**by_run.get(run, {}), "client sends": sent, "client has the response": received}
        for step, times in by_time.items():  # steps before the run has an id: the one within this call
            inside = [t for t in times if sent <= t <= received]
            if inside:
                stamps[step] = min(inside)
        marked = [step for step in STEPS if step in stamps]
        for before, after in zip(marked, marked[1:], strict=False):
            durations.setdefault(f"{before} → {after}", []).append((stamps[after] - stamps[before]) * 1000)
        durations.setdefault("total", []).append((received - sent) * 1000)
    for name, values in durations.items():
        p95 = percentile(values, 95)
        print(f"{name:62s} p50 {statistics.median(values):6.2f}  p95 {p95:6.2f}  max {max(values):6.2f} ms   (n={len(values)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("-n", type=int, default=40)
    parser.add_argument("--gap", type=float, default=0.02, help="seconds between calls")
    args = parser.parse_args()
    if os.environ.get("TRACE_SUMMARY_COPY") != "1":
        root = copy_instrumented()
        try:
            done = subprocess.run(
                [sys.executable, str(root / "bench" / "trace_summary.py"), *sys.argv[1:]],
                cwd=root, env={**os.environ, "TRACE_SUMMARY_COPY": "1"},
            )  # fmt: skip
        finally:
            subprocess.run(["rm", "-rf", str(root)], check=False)
        raise SystemExit(done.returncode)

    sys.path.insert(0, str(HERE))
    from bench.stack import load_average, print_header

    print_header("summary via the API, every step marked", args.backend)
    log = Path(tempfile.mkdtemp(prefix="trace-log-")) / "steps.tsv"
    log.touch()
    calls = drive(args.backend, args.n, args.gap, log)
    report(calls, log)
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
