"""Several IB connections: 1 → 2 → 4 paper gateways, each with its own account and its own worker
(`manage.py ibworker --connection NAME`, a connection row each), at rising aggregate load.

Every gateway is its own process (bench/gateway_proc.py: it stamps each execution's send time) with its
own account (DU1234567 for `default`, DU0000002…); every worker a plain `manage.py ibworker` as
deployed, with its Prometheus endpoint on (the IB events it received and the recorder's queue are read
from there, no hook in the worker). Load: one load-generator client per gateway (client id 10+i: one
market order is ~7 IB order/fill events) placing one-share market orders; the aggregate rate is split
evenly over the gateways. One dashboard socket on the web process watches every account (the page's
live group is per installation). For each level and rate:

* order/fill events/s received by all workers, and recorded: those events over the time from the step's
  start to the moment every fill of the step is a row and every recorder queue is empty (a recorder that
  falls behind stretches the denominator, as in bench_ingest.py);
* websocket p50/p95 from the gateway's send of each execution to its `fill.new` on the socket;
* CPU of each process as % of one core during the step (web, workers, gateways, this load generator, the
  PostgreSQL server's processes, redis-server) and the machine's total, to name what saturates first.

Zero loss at the end: every execution at every gateway is one Fill row, every order one Order row::

    python bench/bench_connections.py --backend postgres [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402

from bench.bench_ingest import _listen  # noqa: E402
from bench.bench_sustained import cpu_seconds  # noqa: E402
from bench.stack import (  # noqa: E402
    Stack,
    free_port,
    load_average,
    order_client,
    place_paced,
    print_header,
    summary_ms,
    wait_for,
)
from bench.wsclient import LiveSocket, session_cookie_for  # noqa: E402
from trading import iblib  # noqa: E402

LEVELS = (1, 2, 4)
RATES = {"full": (20, 40, 60, 100, 150), "quick": (20, 40, 80)}  # aggregate market orders/s
ORDER_EVENTS = ("openOrder", "orderStatus", "execDetails", "commissionReport")
POSTGRES_SHARED = ("walwriter", "checkpointer", "background writer")  # the server's own writers (shared by every database)
OURS = ("web", "workers", "gateways", "load generator")


class Connection:
    """One IB connection of the bench: its gateway process, its row, its worker process, its load client."""

    def __init__(self, stack: Stack, index: int):
        self.index = index
        self.name = "default" if index == 0 else f"acct{index + 1}"
        self.account = "DU1234567" if index == 0 else f"DU{index + 1:07d}"
        self.client_id = index + 1
        self.gateway = "gateway" if index == 0 else f"gateway-{self.name}"
        self.worker = f"worker-{self.name}"
        self.port, self.control_port = stack.start_gateway(
            name=self.gateway, account=None if index == 0 else self.account, master_client_id=self.client_id
        )
        if index:
            from trading.connections.services import connection_add

            connection_add(name=self.name, port=self.port, client_id=self.client_id, accounts=[self.account])
        self.metrics_port = free_port()
        # `default` is the environment's row (IB_PORT): its worker is pointed at this gateway with --port, as `up` does.
        connection = self.name if index else None
        stack.start_ibworker(self.worker, connection=connection, metrics_port=self.metrics_port, heartbeat_interval=1.0)
        self.ib = self.contracts = None
        self.placed = 0

    def metrics(self) -> dict:
        """(order/fill events received, recorder queue depth) from the worker's own /metrics."""
        from prometheus_client.parser import text_string_to_metric_families

        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as response:
            text = response.read().decode()
        events = queue = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "ibworker_ib_events_total" and sample.labels.get("event") in ORDER_EVENTS:
                    events += sample.value
                elif sample.name == "ibworker_recorder_queue_depth":
                    queue += sample.value
        return {"events": events, "queue": queue}


def processes(stack: Stack) -> dict[str, list[psutil.Process]]:
    """What to take CPU of: the console's processes by role, the database server and Redis."""
    roles: dict[str, list[psutil.Process]] = {"web": [psutil.Process(stack.pid("web"))], "load generator": [psutil.Process()]}
    roles["workers"] = [psutil.Process(p.pid) for n, p in stack.processes.items() if n.startswith("worker")]
    roles["gateways"] = [psutil.Process(p.pid) for n, p in stack.processes.items() if n.startswith("gateway")]
    roles["postgres"], roles["redis-server"] = [], []
    for process in psutil.process_iter(["name", "cmdline"]):
        name, command = process.info["name"] or "", " ".join(process.info["cmdline"] or ())
        if name.startswith("postgres") and (stack.db_name in command or any(w in command for w in POSTGRES_SHARED)):
            roles["postgres"].append(process)  # this database's backends and the server's writers
        elif name.startswith("redis-server"):
            roles["redis-server"].append(process)
    return roles


def cpu_snapshot(roles: dict[str, list[psutil.Process]]) -> dict[str, list[float]]:
    out = {}
    for role, members in roles.items():
        values = []
        for process in members:
            try:
                values.append(cpu_seconds(process) if role in ("web", "workers") else _own_cpu(process))
            except psutil.Error:
                values.append(0.0)
        out[role] = values
    return out


def _own_cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


async def step(stack: Stack, conns: list[Connection], rate: float, seconds: float, order_ref: str, arrivals: dict) -> dict:
    from trading.models import Fill

    per = rate / len(conns)
    count = int(per * seconds)
    roles = await asyncio.to_thread(processes, stack)
    before_metrics = [await asyncio.to_thread(c.metrics) for c in conns]
    before_fills = await asyncio.to_thread(Fill.objects.filter(order_ref=order_ref).count)
    before_cpu, machine_before = cpu_snapshot(roles), psutil.cpu_times()
    start = time.time()
    await asyncio.gather(*(place_paced(c.ib, c.contracts, rate=per, count=count, order_ref=order_ref, first=c.placed) for c in conns))
    load_end = time.time()
    after_cpu, machine_after = cpu_snapshot(roles), psutil.cpu_times()
    for c in conns:
        c.placed += count

    def drained():
        expected = sum(len([e for e in stack.control("executions", c.control_port) if e["order_ref"] == order_ref]) for c in conns)
        if Fill.objects.filter(order_ref=order_ref).count() < expected or expected < before_fills + count * len(conns):
            return None
        metrics = [c.metrics() for c in conns]
        return metrics if all(m["queue"] == 0 for m in metrics) else None

    after_metrics = await asyncio.to_thread(wait_for, drained, timeout=600, what="every fill recorded", interval=0.1)
    drained_at = time.time()
    load_seconds = load_end - start
    events = sum(a["events"] - b["events"] for a, b in zip(after_metrics, before_metrics, strict=True))
    recording_seconds = max(drained_at - start, load_seconds)
    busy = sum(
        (getattr(machine_after, f) - getattr(machine_before, f)) for f in ("user", "system", "nice", "irq", "softirq", "steal")
    )
    cpu = {
        role: [round(100 * (a - b) / load_seconds, 1) for a, b in zip(after_cpu[role], before_cpu[role], strict=True)]
        for role in after_cpu
    }
    return {
        "connections": len(conns), "orders_per_s": rate, "orders": count * len(conns), "start": start, "end": load_end,
        "ib_events": int(events), "ib_events_per_s": round(events / load_seconds),
        "events_recorded_per_s": round(events / recording_seconds), "backlog_drained_s": round(drained_at - load_end, 2),
        "cpu_percent": {role: round(sum(v), 1) for role, v in cpu.items()},
        "cpu_percent_max_worker": max(cpu["workers"], default=0.0),
        "machine_cpu_percent": round(100 * busy / load_seconds, 1), "load": load_average(),
        "other_cpu_percent": round(100 * busy / load_seconds - sum(sum(cpu[r]) for r in cpu), 1),
    }  # fmt: skip


def latencies(stack: Stack, conns: list[Connection], rows: list[dict], arrivals: dict) -> None:
    """The websocket latency of each step: the gateways' execution send stamps → the socket's arrival."""
    sent = {}
    for c in conns:
        path = stack.out / f"stamps-{c.name}.json"
        stack.control(f"dump {path}", c.control_port)
        sent.update(dict(json.loads(path.read_text())["executions"]))
        stack.control("stamps on", c.control_port)
    for row in rows:
        ids = [i for i, at in sent.items() if row["start"] <= at < row["end"]]
        row["websocket_ms"] = summary_ms([arrivals[i] - sent[i] for i in ids if i in arrivals])
        row["websocket_received"] = f"{sum(1 for i in ids if i in arrivals)}/{len(ids)}"


def check_no_loss(stack: Stack, conns: list[Connection], order_ref: str) -> dict:
    from trading.models import Fill, Order

    gateway_execs, gateway_orders = set(), {}
    for c in conns:
        gateway_execs |= {e["exec_id"] for e in stack.control("executions", c.control_port) if e["order_ref"] == order_ref}
        gateway_orders.update({o["perm_id"]: o for o in stack.control("all_orders", c.control_port) if o["order_ref"] == order_ref})
    recorded = list(Fill.objects.filter(order_ref=order_ref).values_list("exec_id", flat=True))
    rows = dict(Order.objects.filter(order_ref=order_ref).values_list("perm_id", "status"))
    return {
        "gateway_executions": len(gateway_execs), "fill_rows": len(recorded),
        "missing_fills": len(gateway_execs - set(recorded)), "duplicated_fills": len(recorded) - len(set(recorded)),
        "extra_fills": len(set(recorded) - gateway_execs),
        "gateway_orders": len(gateway_orders), "order_rows": len(rows),
        "missing_orders": len(set(gateway_orders) - set(rows)),
        "status_differs": sum(1 for p, o in gateway_orders.items() if rows.get(p) not in (None, o["status"])),
    }  # fmt: skip


async def run(stack: Stack, quick: bool, levels: tuple[int, ...], rates: tuple[int, ...], seconds: float) -> dict:
    from django.contrib.auth import get_user_model

    from trading.models import IntentRun
    from trading.orderref import order_ref_build

    user = await asyncio.to_thread(lambda: get_user_model().objects.create_superuser("bench", "b@example.com", "bench-password-1"))
    cookie = await asyncio.to_thread(session_cookie_for, user)
    run_row = await asyncio.to_thread(lambda: IntentRun.objects.create(intent="bench", source="system", status="succeeded"))
    order_ref = order_ref_build(owner="bench", run_id=run_row.pk)
    stack.start_web()
    socket = await LiveSocket.connect(stack.web_port, cookie=cookie)
    arrivals: dict[str, float] = {}
    listener = asyncio.create_task(_listen(socket, arrivals))
    conns: list[Connection] = []
    rows: list[dict] = []
    for level in levels:
        while len(conns) < level:
            conn = await asyncio.to_thread(Connection, stack, len(conns))
            conn.ib, conn.contracts = await order_client(conn.port, client_id=10 + conn.index)
            stack.control("stamps on", conn.control_port)
            conns.append(conn)
        level_rows = []
        for rate in rates:
            row = await step(stack, conns, rate, seconds, order_ref, arrivals)
            level_rows.append(row)
            print(f"  {level} connection(s), {rate:>4} orders/s: {row['ib_events_per_s']:>5} events/s in, "
                  f"{row['events_recorded_per_s']:>5}/s recorded, backlog drained {row['backlog_drained_s']} s after the load; "
                  f"machine CPU {row['machine_cpu_percent']}%", flush=True)  # fmt: skip
        await asyncio.sleep(2.0)  # the last pushes reach the socket (arrival times are stamped as they come)
        await asyncio.to_thread(latencies, stack, conns, level_rows, arrivals)
        rows += level_rows
    for conn in conns:
        conn.ib.disconnect()
    listener.cancel()
    closed = socket.closed_code
    await socket.close()
    loss = await asyncio.to_thread(check_no_loss, stack, conns, order_ref)
    return {"steps": rows, "loss": loss, "websocket_closed_by_server": closed, "seconds_per_step": seconds}


def busiest(row: dict) -> str:
    """The busiest of the processes measured (as % of one core), and whether the cores are full."""
    cpu = dict(row["cpu_percent"])
    name = max(cpu, key=cpu.get)
    cores = psutil.cpu_count() or 1
    full = f"; machine full ({row['machine_cpu_percent']:.0f}% of {cores * 100}%)" if row["machine_cpu_percent"] >= 90 * cores else ""
    return f"{name} {cpu[name]:.0f}%{full}"


def ceilings(rows: list[dict]) -> list[str]:
    """Per level: the highest rate recorded as it came (drained within 1 s of the load's end), and the first
    that was not, with what was busiest then."""
    lines = []
    for level in sorted({r["connections"] for r in rows}):
        steps = [r for r in rows if r["connections"] == level]
        kept = [r for r in steps if r["backlog_drained_s"] <= 1.0]
        behind = next((r for r in steps if r["backlog_drained_s"] > 1.0), None)
        line = f"{level} connection(s): "
        line += f"keeps up to {kept[-1]['ib_events_per_s']} events/s in" if kept else "behind from the first step"
        if behind:
            c = behind["cpu_percent"]
            line += (f"; at {behind['ib_events_per_s']} events/s in it records {behind['events_recorded_per_s']}/s (backlog "
                     f"{behind['backlog_drained_s']} s): busiest {busiest(behind)}; one worker {behind['cpu_percent_max_worker']}%, "
                     f"postgres {c['postgres']}%, redis {c['redis-server']}%, everything else on the machine {behind['other_cpu_percent']}%")  # fmt: skip
        lines.append(line)
    return lines


def report(result: dict) -> None:
    print(f"\n{result['seconds_per_step']:.0f} s per step; CPU as % of one core during the load")
    head = ("| connections | orders/s offered | order/fill events/s in | recorded/s | backlog drained | ws p50 / p95 ms "
            "| web | workers (max one) | gateways | load gen | postgres | redis | rest of machine | machine |")  # fmt: skip
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for row in result["steps"]:
        c, w = row["cpu_percent"], row["websocket_ms"]
        print(f"| {row['connections']} | {row['orders_per_s']} | {row['ib_events_per_s']} | {row['events_recorded_per_s']} | "
              f"{row['backlog_drained_s']} s | {w.get('p50')} / {w.get('p95')} ({row['websocket_received']}) | {c['web']} | "
              f"{c['workers']} ({row['cpu_percent_max_worker']}) | {c['gateways']} | {c['load generator']} | "
              f"{c['postgres']} | {c['redis-server']} | {row['other_cpu_percent']} | {row['machine_cpu_percent']} |")  # fmt: skip
    print("\n".join(["ceiling:", *(f"  {line}" for line in ceilings(result["steps"]))]))
    print(f"loss check: {json.dumps(result['loss'])}")
    if result.get("websocket_closed_by_server"):
        print(f"the server closed the websocket during the run (code {result['websocket_closed_by_server']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="3 rates, 5 s per step (default: 5 rates, 10 s)")
    parser.add_argument("--levels", type=int, nargs="+", default=list(LEVELS), help="connections at each level (1 2 4)")
    parser.add_argument("--rates", type=int, nargs="+", help="aggregate market orders/s at each step")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    if sorted(args.levels) != args.levels or args.levels[0] < 1:
        parser.error("--levels: rising numbers of connections, from 1")
    mode = "quick" if args.quick else "full"
    rates = tuple(args.rates or RATES[mode])
    logging.getLogger(iblib.LOGGER).setLevel(logging.WARNING)
    stack = Stack(args.backend, name="connections")
    stack.setup_django()
    print_header("several IB connections", args.backend)
    try:
        result = asyncio.run(run(stack, args.quick, tuple(args.levels), rates, 5.0 if args.quick else 10.0))
    finally:
        print(f"scratch folder (logs): {stack.dir}")
        stack.teardown()
    report(result)
    result["load_end"] = load_average()
    if args.json:
        Path(args.json).write_text(json.dumps({"backend": args.backend, **result}, indent=1))
    loss = result["loss"]
    if loss["missing_fills"] or loss["duplicated_fills"] or loss["extra_fills"] or loss["missing_orders"]:
        raise SystemExit("fills or orders lost or duplicated")


if __name__ == "__main__":
    main()
