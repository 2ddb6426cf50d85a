"""Does `summary` stay as fast, and the worker as small, after many calls? ``-n`` calls through the API
(``POST /api/intents/summary?wait=30``) against one warm console, in blocks; per block, the API's p50
and p95 and the worker's RSS (psutil) and CPU per call. A call that leaves something behind in the
worker (a listener on an ib_insync event, a cache that only grows) shows as a p50, a CPU per call or
an RSS that climbs from block to block. Calls are ``--gap`` seconds apart: each `summary` sends IB two
messages (its request and its cancel), and ib_insync holds back what would pass IB's pacing (45
messages a second), so calls back to back (~40/s) would measure that pacing every ~22 calls::

    python bench/summary_repeat.py --backend sqlite [-n 1000] [--block 100] [--gap 0.05]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_intents import api_call, console_up  # noqa: E402
from bench.stack import Stack, load_average, percentile, print_header  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between calls (default 0.05)")
    args = parser.parse_args()
    print_header(f"summary, {args.n} calls {args.gap}s apart, in blocks of {args.block}", args.backend)
    stack = Stack(args.backend, name="summary-repeat")
    try:
        stack.setup_django()
        token = console_up(stack)
        api_call(stack, token, "summary", {}, 30)  # warm: the first run imports and connects everything
        worker = psutil.Process(stack.pid("worker"))
        rows = []
        for first in range(0, args.n, args.block):
            cpu = sum(worker.cpu_times()[:2])
            latencies = []
            for _ in range(args.block):
                latencies.append(api_call(stack, token, "summary", {}, 30)[0] * 1000)
                time.sleep(args.gap)
            cpu_per_call = (sum(worker.cpu_times()[:2]) - cpu) * 1000 / args.block
            rss = worker.memory_info().rss / 2**20
            rows.append((first + args.block, percentile(latencies, 50), percentile(latencies, 95), cpu_per_call, rss))
            print(f"calls {first + 1:5d}–{first + args.block:5d}: API p50 {rows[-1][1]:6.2f} ms p95 {rows[-1][2]:6.2f} ms, "
                  f"worker CPU {cpu_per_call:5.2f} ms/call, worker RSS {rss:6.1f} MB", flush=True)  # fmt: skip
        (_, p50_first, _, cpu_first, rss_first), (_, p50_last, _, cpu_last, rss_last) = rows[0], rows[-1]
        print(f"first block → last: p50 {p50_first:.2f} → {p50_last:.2f} ms, worker CPU {cpu_first:.2f} → {cpu_last:.2f} ms/call, "
              f"worker RSS {rss_first:.1f} → {rss_last:.1f} MB ({rss_last - rss_first:+.1f} MB)")  # fmt: skip
        print(f"load average at end: {load_average()}")
    finally:
        stack.teardown()


if __name__ == "__main__":
    main()
