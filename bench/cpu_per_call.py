"""CPU each process spends per `summary` call via the API: where a 2-core machine's time goes.

Starts the stack as bench_intents.py does, then reads every process's CPU time (/proc/<pid>/stat) over
an idle stretch and over `-n` calls `--gap` seconds apart, and prints each process group's CPU per call
above its idle rate (the web, the worker, the q2 cluster with its workers, the gateway, Redis, and on
PostgreSQL the server's processes)::

    python bench/cpu_per_call.py --backend sqlite [-n 100] [--gap 0.1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_intents import api_call, console_up  # noqa: E402
from bench.stack import Stack, percentile, print_header  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_by_process() -> dict[int, tuple[int, str, float]]:
    """pid → (process group, command line, CPU seconds so far) of every process on the machine."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
            command = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        out[int(name)] = (int(fields[2]), command, (int(fields[11]) + int(fields[12])) / TICK)
    return out


def group_of(stack: Stack, pgid: int, command: str) -> str | None:
    for name, process in stack.processes.items():
        if pgid == process.pid:
            return name
    if "redis-server" in command and (str(stack.dir) in command or stack.backend == "postgres"):
        return "redis"
    if stack.backend == "postgres" and command.startswith("postgres"):
        return "postgresql"
    if pgid == os.getpgid(0):
        return "this client"
    return None


def used(stack: Stack, before: dict, after: dict) -> dict[str, float]:
    """CPU seconds per group between two readings."""
    groups: dict[str, float] = {}
    for pid, (pgid, command, seconds) in after.items():
        group = group_of(stack, pgid, command)
        if group is not None:
            groups[group] = groups.get(group, 0.0) + seconds - (before[pid][2] if pid in before else 0.0)
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between calls (IB's pacing: keep it >= 0.05)")
    args = parser.parse_args()
    stack = Stack(args.backend, name="cpu")
    stack.setup_django()
    print_header("CPU per summary call", args.backend)
    try:
        token = console_up(stack)
        for _ in range(5):
            api_call(stack, token, "summary", {}, 30)  # warm
        time.sleep(2)  # let the warm-up's q2 tasks finish before the idle reading
        before, started = cpu_by_process(), time.monotonic()
        time.sleep(args.n * args.gap)
        idle = used(stack, before, cpu_by_process())
        idle_seconds = time.monotonic() - started
        before, started, latencies = cpu_by_process(), time.monotonic(), []
        for _ in range(args.n):
            latencies.append(api_call(stack, token, "summary", {}, 30)[0] * 1000)
            time.sleep(args.gap)
        time.sleep(1.0)  # the calls' q2 tasks end (a task waits up to a second for the worker's claim)
        busy = used(stack, before, cpu_by_process())
        busy_seconds = time.monotonic() - started
    finally:
        stack.teardown()
    print(f"{args.n} calls {args.gap} s apart: API p50 {percentile(latencies, 50):.1f} ms")
    total = 0.0
    for group, seconds in sorted(busy.items(), key=lambda item: -item[1]):
        above = seconds - idle.get(group, 0.0) * busy_seconds / idle_seconds
        total += above
        print(f"  {group:12s} {above / args.n * 1000:6.2f} ms CPU per call above idle ({seconds / args.n * 1000:.2f} with idle)")
    print(f"  {'all':12s} {total / args.n * 1000:6.2f} ms CPU per call, on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
