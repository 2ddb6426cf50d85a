"""Failover: time from SIGKILL of the active IB worker to its standby connected and reconciled, over
repeated kills, while a load generator keeps orders filling; then every fill at the gateway must be
one Fill row (none lost, none twice).

Each round: the active worker (`manage.py ibworker`) owns client id 1, a standby
(`manage.py ibworker --standby`) waits on its lease, orders flow for a few seconds, the active
worker's process group is SIGKILLed, and the clock runs until the standby's heartbeat row says it is
connected: `details.reconciled_at` (the reconcile recorded) and `details.synced_at` (the orphan
sweep done, runs accepted — the figure reported). The killed worker is
replaced by a new standby for the next round. Both run on this host, so the standby sees the dead
owner's pid gone and takes over at its next look at the lease (every `--standby-poll` s); from
another host it waits for the lease's ttl (3 heartbeats) instead::

    python bench/bench_failover.py --backend sqlite [--kills 10] [--rate 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import Stack, load_average, order_client, percentile, print_header, wait_for  # noqa: E402
from trading import iblib  # noqa: E402

ORDER_REF = "bench-failover"


class OrderLoad:
    """One-share market orders at `rate` a second from a second IB client (id 2), in a thread of its own."""

    def __init__(self, port: int, rate: float):
        self.port, self.rate = port, rate
        self.placed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="order-load", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    async def _run(self) -> None:
        from trading.iblib import MarketOrder

        ib, contracts = await order_client(self.port)
        loop = asyncio.get_running_loop()
        began = loop.time()
        while not self._stop.is_set():
            n = self.placed
            ib.placeOrder(contracts[n % len(contracts)], MarketOrder("BUY" if n % 2 == 0 else "SELL", 1, orderRef=ORDER_REF))
            self.placed += 1
            await asyncio.sleep(max(0.0, began + self.placed / self.rate - loop.time()))
        await asyncio.sleep(1.0)  # the last fills reach the gateway's books
        ib.disconnect()


def owner_after(pid: int) -> dict | None:
    """The heartbeat of worker `pid` once it is connected and its reconcile is recorded, else None."""
    from trading.models import WorkerHeartbeat

    beat = WorkerHeartbeat.objects.filter(pid=pid, connected=True).first()
    if beat is None or not (beat.details or {}).get("synced_at"):
        return None
    return beat.details


def one_kill(stack: Stack, active: str, standby: str, *, load_seconds: float) -> dict:
    from trading.models import Order, WorkerLease

    time.sleep(load_seconds)  # fills keep coming to the active worker
    token = WorkerLease.objects.get(client_id=1).token
    orders = Order.objects.count()  # the day's orders so far: what the standby's reconcile goes through
    killed_at = time.time()
    os.killpg(stack.pid(active), signal.SIGKILL)
    stack.processes.pop(active).wait()  # reaped: its pid is gone, as after a crash
    details = wait_for(lambda: owner_after(stack.pid(standby)), timeout=60, what=f"{standby} to take over", interval=0.01)
    lease = WorkerLease.objects.get(client_id=1)
    assert lease.token == token + 1 and lease.owner.endswith(f":{stack.pid(standby)}"), lease
    at = {key: datetime.fromisoformat(details[key]).timestamp() - killed_at for key in ("reconciled_at", "synced_at")}
    return {
        "orders_in_session": orders,
        "lease_taken_s": round(lease.acquired_at.timestamp() - killed_at, 3),
        "reconciled_s": round(at["reconciled_at"], 3),
        "connected_and_reconciled_s": round(at["synced_at"], 3),
        "token": lease.token,
    }


def fills_check(stack: Stack) -> dict:
    from trading.models import Fill

    at_gateway = {e["exec_id"] for e in stack.control("executions") if e["order_ref"] == ORDER_REF}
    rows = lambda: list(Fill.objects.filter(order_ref=ORDER_REF).values_list("exec_id", flat=True))  # noqa: E731
    try:
        wait_for(lambda: set(rows()) >= at_gateway, timeout=60, what="every fill recorded")
    except TimeoutError:
        pass  # reported as lost below
    recorded = rows()
    return {
        "gateway_executions": len(at_gateway),
        "fill_rows": len(recorded),
        "lost": len(at_gateway - set(recorded)),
        "duplicated": len(recorded) - len(set(recorded)),
        "unknown_to_gateway": len(set(recorded) - at_gateway),
    }


def run(backend: str, *, kills: int, rate: float, load_seconds: float, heartbeat: float, poll: float) -> dict:
    logging.getLogger(iblib.LOGGER).setLevel(logging.WARNING)  # the load generator's client: quiet
    stack = Stack(backend, name="failover")
    print_header("failover: SIGKILL of the active worker, a standby takes over", backend)
    print(
        f"{kills} kills, {rate:g} orders/s, {load_seconds:g} s of load before each kill, heartbeat {heartbeat:g} s, standby poll {poll:g} s"
    )
    stack.setup_django()
    rounds: list[dict] = []
    try:
        stack.start_gateway()
        active = "worker-0"
        stack.start_ibworker(active, heartbeat_interval=heartbeat)
        load = OrderLoad(stack.gateway_port, rate)
        load.start()
        for i in range(1, kills + 1):
            standby = f"worker-{i}"
            stack.start_ibworker(standby, standby=True, heartbeat_interval=heartbeat, standby_poll=poll)
            result = one_kill(stack, active, standby, load_seconds=load_seconds)
            rounds.append(result)
            print(
                f"kill {i} ({result['orders_in_session']} orders in the session): lease taken {result['lease_taken_s']:.3f} s, "
                f"reconcile recorded {result['reconciled_s']:.3f} s, connected and accepting runs {result['connected_and_reconciled_s']:.3f} s"
            )
            active = standby
        time.sleep(load_seconds)
        load.stop()
        fills = fills_check(stack)
    finally:
        load_at_end = load_average()
        print(f"scratch folder (worker logs): {stack.dir}")
        stack.teardown()
    failover = [r["connected_and_reconciled_s"] for r in rounds]
    taken = [r["lease_taken_s"] for r in rounds]
    result = {
        "backend": backend, "kills": kills, "orders_placed": load.placed, "rate": rate,
        "failover_s": {"p50": percentile(failover, 50), "max": max(failover)},
        "lease_taken_s": {"p50": percentile(taken, 50), "max": max(taken)},
        "fills": fills, "rounds": rounds, "load_average_end": load_at_end,
    }  # fmt: skip
    print(
        f"failover (kill → standby connected and reconciled): p50 {result['failover_s']['p50']:.3f} s, max {result['failover_s']['max']:.3f} s"
    )
    print(f"lease taken after the kill: p50 {result['lease_taken_s']['p50']:.3f} s, max {result['lease_taken_s']['max']:.3f} s")
    print(
        f"fills: {fills['gateway_executions']} at the gateway, {fills['fill_rows']} rows, {fills['lost']} lost, {fills['duplicated']} duplicated"
    )
    print(f"load average at end: {load_at_end}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--rate", type=float, default=10.0, help="orders a second from the load generator")
    parser.add_argument("--load-seconds", type=float, default=3.0, help="seconds of load before each kill")
    parser.add_argument("--heartbeat-interval", type=float, default=2.0, help="the workers' (ibworker's default)")
    parser.add_argument("--standby-poll", type=float, default=1.0, help="the standby's (ibworker's default)")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    result = run(
        args.backend, kills=args.kills, rate=args.rate, load_seconds=args.load_seconds,
        heartbeat=args.heartbeat_interval, poll=args.standby_poll,
    )  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    if result["fills"]["lost"] or result["fills"]["duplicated"] or result["fills"]["unknown_to_gateway"]:
        raise SystemExit("fills lost or duplicated")


if __name__ == "__main__":
    main()
