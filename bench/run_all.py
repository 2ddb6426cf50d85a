"""Run every benchmark on both backends and print one results table::

    python bench/run_all.py [--quick] [--backend sqlite|postgres ...] [--only ingest intents memory fanout]

Each benchmark runs in its own process (a fresh database and processes each time) and writes its
figures to bench/results/<backend>-<benchmark>.json; the table at the end is what docs/BENCHMARKS.md
quotes. Run it on a quiet machine: the load average is printed next to every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
COMMANDS = {
    "ingest": ["bench_ingest.py"],
    "intents": ["bench_intents.py"],
    "memory": ["bench_sustained.py", "--mode", "memory"],
    "fanout": ["bench_sustained.py", "--mode", "fanout"],
}


def run(name: str, backend: str, quick: bool) -> dict | None:
    out = RESULTS / f"{backend}-{name}.json"
    command = [sys.executable, str(BENCH / COMMANDS[name][0]), *COMMANDS[name][1:], "--backend", backend, "--json", str(out)]
    if quick:
        command.append("--quick")
    print(f"\n$ {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    done = subprocess.run(command, cwd=BENCH.parent, capture_output=True, text=True)
    figures = [line for line in done.stdout.splitlines() if not line[:4].isdigit()]
    print("\n".join(figures))
    if done.returncode != 0:
        print(f"FAILED ({done.returncode}) after {time.monotonic() - started:.0f}s:\n{done.stderr[-3000:]}")
        return None
    return json.loads(out.read_text())


def table(results: dict) -> str:
    rows = ["| figure | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]

    def cell(backend, fn):
        try:
            return fn(results[backend])
        except (KeyError, TypeError, IndexError, StopIteration):
            return "—"

    def tick(rate):
        return lambda r: next(f"{row['ticks_per_s']:,}/s, p50 {row['handler_latency_ms']['p50']} / p99 {row['handler_latency_ms']['p99']} ms (load {row['load'].split()[0]})"
                              for row in r["ingest"]["ticks"] if row["target_ticks_per_s"] == rate)  # fmt: skip

    def orders(rate):
        return lambda r: next(
            f"{row['ib_events_per_s']}/s in, {row['events_recorded_per_s']}/s recorded; handler p99 {row['handler_latency_ms'].get('p99')} ms; commit p50 {row['commit_latency_ms'].get('p50')} / p99 "
            f"{row['commit_latency_ms'].get('p99')} ms; ws p95 {row['websocket_latency_ms'].get('p95')} ms (load {row['load'].split()[0]})"
            for row in r["ingest"]["orders"] if row["orders_per_s"] == rate)  # fmt: skip

    ingest_ticks = sorted(
        {row["target_ticks_per_s"] for r in results.values() if r.get("ingest") for row in r["ingest"]["ticks"]}
    )
    ingest_orders = sorted({row["orders_per_s"] for r in results.values() if r.get("ingest") for row in r["ingest"]["orders"]})
    for rate in ingest_ticks:
        rows.append(
            f"| ticks, target {rate:,}/s: handled, gateway→handler latency | "
            + " | ".join(cell(b, tick(rate)) for b in results)
            + " |"
        )
    for rate in ingest_orders:
        rows.append(
            f"| market orders {rate}/s: IB order/fill events/s in and recorded, latencies | "
            + " | ".join(cell(b, orders(rate)) for b in results)
            + " |"
        )
    rows.append("| zero loss (fills/orders recorded vs gateway) | " + " | ".join(
        cell(b, lambda r: "{fill_rows}/{gateway_executions} fills, {order_rows}/{gateway_orders} orders, {missing_fills} missing, {extra_fills} extra".format(**r["ingest"]["loss"])) for b in results) + " |")  # fmt: skip
    for work in ("summary", "close_all"):
        rows.append(f"| {work}: API p50/p95 vs connect-per-request script p50/p95 | " + " | ".join(
            cell(b, lambda r, w=work: f"{r['intents'][w + '_api']['p50']}/{r['intents'][w + '_api']['p95']} ms vs {r['intents'][w + '_script']['p50']}/{r['intents'][w + '_script']['p95']} ms "
                 f"(script/API {r['intents'][w + '_script']['p50'] / r['intents'][w + '_api']['p50']:.1f}x)") for b in results) + " |")  # fmt: skip
    rows.append("| memory: worker RSS growth | " + " | ".join(cell(b, lambda r: f"{r['memory']['warm']['worker_mb']}→{r['memory']['last']['worker_mb']} MB ({r['memory']['worker_mb_per_min']:+} MB/min over {r['memory']['seconds'] / 60:.0f} min)") for b in results) + " |")  # fmt: skip
    rows.append("| memory: web RSS growth | " + " | ".join(cell(b, lambda r: f"{r['memory']['warm']['web_mb']}→{r['memory']['last']['web_mb']} MB ({r['memory']['web_mb_per_min']:+} MB/min)") for b in results) + " |")  # fmt: skip
    rows.append("| fan-out 20 sockets: fills received per socket, web CPU | " + " | ".join(cell(b, lambda r: f"{r['fanout']['fills_received_min']}–{r['fanout']['fills_received_max']} of {r['fanout']['fills_expected']} ({r['fanout']['complete_clients']}/20 complete); web CPU {r['fanout']['web_cpu_percent_during_load']}%") for b in results) + " |")  # fmt: skip
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter steps; memory over 1 minute instead of 10")
    parser.add_argument("--backend", nargs="+", choices=("sqlite", "postgres"), default=["sqlite", "postgres"])
    parser.add_argument("--only", nargs="+", choices=tuple(COMMANDS), default=list(COMMANDS))
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    from bench.stack import load_average, machine

    print(f"machine: {machine()}; load average {load_average()}; {'quick' if args.quick else 'full'} run")
    results = {}
    for backend in args.backend:
        results[backend] = {name: run(name, backend, args.quick) for name in args.only}
    print("\n" + table(results))
    print(f"\nload average at the end: {load_average()}")
    sys.exit(0 if all(v is not None for r in results.values() for v in r.values()) else 1)


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH.parent))
    os.chdir(BENCH.parent)
    main()
