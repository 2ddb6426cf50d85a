"""Sustained load: memory of the worker and the web process over time, and websocket fan-out.

``--mode memory``: ~1,000 events/s for 10 minutes (``--quick``: 1 minute; ``--seconds N``: N seconds) — ticks through the handlers
plus a trickle of market orders — with one dashboard socket open; RSS of the worker and the web
process sampled every 5 s; the growth is reported from the first sample after a 15 s warm-up.
``--mode fanout``: 20 dashboard sockets while ~200 order/fill events/s flow; after the load, every
socket must have received every ``fill.new`` (completeness) and the web process's CPU is reported::

    python bench/bench_sustained.py --mode memory --backend sqlite [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402

from bench.stack import Stack, load_average, order_client, place_paced, print_header, wait_for  # noqa: E402
from bench.wsclient import LiveSocket, session_cookie_for  # noqa: E402
from trading import iblib  # noqa: E402

TICK_SYMBOLS = ("SPY", "QQQ", "IWM", "TLT", "GLD", "VIXY", "AAPL", "MSFT", "NVDA", "TSLA")


async def place_orders(port: int, rate: float, seconds: float, order_ref: str) -> int:
    ib, contracts = await order_client(port)
    count = int(rate * seconds)
    await place_paced(ib, contracts, rate=rate, count=count, order_ref=order_ref)
    await asyncio.sleep(1.0)
    ib.disconnect()
    return count


async def collect(socket: LiveSocket, seen: dict) -> None:
    try:
        while True:
            event = await socket.receive()
            if event:
                seen[event["type"]] = seen.get(event["type"], 0) + 1
                if event["type"] == "fill.new":
                    seen.setdefault("exec_ids", set()).add(event["payload"]["exec_id"])
    except ConnectionError:
        seen["closed"] = True


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system + sum(c.cpu_times().user + c.cpu_times().system for c in process.children(recursive=True))


def rss_mb(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def recorder_queue() -> int | None:
    """Events waiting to be written, from the worker's heartbeat: a growing queue is memory too."""
    return heartbeat_details().get("recorder_queue")


def heartbeat_details() -> dict:
    from django.db import close_old_connections

    from trading.models import WorkerHeartbeat

    close_old_connections()
    row = WorkerHeartbeat.objects.filter(name="ibworker").first()
    return (row.details or {}) if row else {}


def probe_counts(stack: Stack) -> dict:
    """The probe handler's running totals of ticks and order/fill events the worker got (5 s granularity)."""
    files = list(stack.out.glob("probe-counts-*.json"))
    return json.loads(files[0].read_text()) if files else {"ticks": 0, "order_events": 0}


async def memory(stack: Stack, quick: bool, cookie: str, order_ref: str, seconds: float | None = None) -> dict:
    seconds = seconds or (60.0 if quick else 600.0)
    stack.control(f"tick_interval {4 * len(TICK_SYMBOLS) / 960}")
    sockets = [await LiveSocket.connect(stack.web_port, cookie=cookie)]
    seen: dict = {}
    listener = asyncio.create_task(collect(sockets[0], seen))
    worker, web = psutil.Process(stack.pid("worker")), psutil.Process(stack.pid("web"))
    samples = []

    async def sample():
        began = time.time()
        while True:
            samples.append(
                {"t": round(time.time() - began, 1), "worker_mb": round(rss_mb(worker), 1), "web_mb": round(rss_mb(web), 1)}
            )
            (stack.dir / "samples.json").write_text(json.dumps(samples))  # follow a long run as it goes
            await asyncio.sleep(5.0)

    sampler = asyncio.create_task(sample())
    counted_from, began = probe_counts(stack), time.time()
    orders = await place_orders(stack.gateway_port, 5.0, seconds, order_ref)
    counted_to, load_seconds = probe_counts(stack), time.time() - began
    session = (await asyncio.to_thread(heartbeat_details)).get("ib_session")  # what ib_insync holds at the end
    sampler.cancel()
    listener.cancel()
    stack.control("tick_interval 0")
    for socket in sockets:
        await socket.close()
    warm = next(s for s in samples if s["t"] >= 15.0)
    last = samples[-1]
    minutes = (last["t"] - warm["t"]) / 60
    return {
        "seconds": seconds, "orders": orders, "samples": samples, "events_received_by_socket": {k: v for k, v in seen.items() if k != "exec_ids"},
        "worker_growth_mb": round(last["worker_mb"] - warm["worker_mb"], 1), "web_growth_mb": round(last["web_mb"] - warm["web_mb"], 1),
        "worker_mb_per_min": round((last["worker_mb"] - warm["worker_mb"]) / minutes, 2),
        "web_mb_per_min": round((last["web_mb"] - warm["web_mb"]) / minutes, 2),
        "warm": warm, "last": last, "ib_session_at_end": session,
        "worker_ticks_per_s": round((counted_to["ticks"] - counted_from["ticks"]) / load_seconds),
        "worker_order_events_per_s": round((counted_to["order_events"] - counted_from["order_events"]) / load_seconds, 1),
    }  # fmt: skip


async def fanout(stack: Stack, quick: bool, cookie: str, order_ref: str, clients: int = 20) -> dict:
    from trading.models import Fill

    seconds = 15.0 if quick else 30.0
    sockets = [await LiveSocket.connect(stack.web_port, cookie=cookie) for _ in range(clients)]
    seen = [{} for _ in sockets]
    listeners = [asyncio.create_task(collect(s, box)) for s, box in zip(sockets, seen, strict=True)]
    await asyncio.sleep(2.0)  # every socket past its snapshot
    web, worker = psutil.Process(stack.pid("web")), psutil.Process(stack.pid("worker"))
    web_cpu, worker_cpu, began = cpu_seconds(web), cpu_seconds(worker), time.time()
    orders = await place_orders(stack.gateway_port, 25.0, seconds, order_ref)
    load_seconds = time.time() - began
    web_cpu_load, worker_cpu_load = cpu_seconds(web) - web_cpu, cpu_seconds(worker) - worker_cpu
    expected = {e["exec_id"] for e in stack.control("executions") if e["order_ref"] == order_ref}
    await asyncio.to_thread(
        wait_for, lambda: Fill.objects.filter(order_ref=order_ref).count() >= len(expected), timeout=300, what="fills recorded"
    )
    drained = time.time() - began
    try:
        await asyncio.wait_for(_all_received(seen, expected), timeout=60)
    except TimeoutError:
        pass
    for task in listeners:
        task.cancel()
    for socket in sockets:
        await socket.close()
    received = [len(box.get("exec_ids", set()) & expected) for box in seen]
    return {
        "clients": clients, "seconds": seconds, "orders": orders, "fills_expected": len(expected),
        "fills_received_min": min(received), "fills_received_max": max(received),
        "complete_clients": sum(r == len(expected) for r in received),
        "order_events_per_client": [box.get("order.status", 0) for box in seen][:3],
        "closed_sockets": sum(1 for box in seen if box.get("closed")),
        "web_cpu_percent_during_load": round(100 * web_cpu_load / load_seconds, 1),
        "worker_cpu_percent_during_load": round(100 * worker_cpu_load / load_seconds, 1),
        "seconds_until_all_recorded": round(drained, 1),
    }  # fmt: skip


async def _all_received(seen: list[dict], expected: set) -> None:
    while not all(expected <= box.get("exec_ids", set()) for box in seen):
        await asyncio.sleep(0.2)


async def run(stack: Stack, mode: str, quick: bool, clients: int = 20, seconds: float | None = None) -> dict:
    from django.contrib.auth import get_user_model

    from trading.models import IntentRun
    from trading.orderref import order_ref_build

    user = await asyncio.to_thread(
        lambda: get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-1")
    )
    cookie = await asyncio.to_thread(session_cookie_for, user)
    run_row = await asyncio.to_thread(lambda: IntentRun.objects.create(intent="bench", source="system", status="succeeded"))
    order_ref = order_ref_build(owner="bench", run_id=run_row.pk)
    stack.start_gateway(tick_interval=0)
    stack.start_web()
    if mode == "memory":  # no stamps kept: the measurement must not grow the heap it measures
        await asyncio.to_thread(stack.start_worker, symbols=TICK_SYMBOLS, BENCH_STAMPS="0")
    else:
        await asyncio.to_thread(stack.start_worker)
    result = {"load_start": load_average()}
    result.update(
        await (
            memory(stack, quick, cookie, order_ref, seconds)
            if mode == "memory"
            else fanout(stack, quick, cookie, order_ref, clients)
        )
    )
    result["load_end"] = load_average()
    return result


def report(mode: str, result: dict) -> None:
    if mode == "memory":
        print(f"memory over {result['seconds']:.0f}s at ~1,000 events/s (960 ticks/s + 5 orders/s, 1 socket):")
        print(
            f"  the worker got {result.get('worker_ticks_per_s')} ticks/s and {result.get('worker_order_events_per_s')} order/fill events/s"
        )
        print(
            f"  worker RSS {result['warm']['worker_mb']} MB -> {result['last']['worker_mb']} MB ({result['worker_growth_mb']:+} MB, {result['worker_mb_per_min']:+} MB/min)"
        )
        print(
            f"  web RSS    {result['warm']['web_mb']} MB -> {result['last']['web_mb']} MB ({result['web_growth_mb']:+} MB, {result['web_mb_per_min']:+} MB/min)"
        )
        print(f"  ib_insync session at the end (worker heartbeat): {result['ib_session_at_end']}")
    else:
        print(
            f"fan-out: {result['clients']} sockets, {result['orders']} market orders at 25/s (~200 order/fill events/s) for {result['seconds']:.0f}s:"
        )
        print(f"  fills received per socket: min {result['fills_received_min']} max {result['fills_received_max']} of {result['fills_expected']};"
              f" {result['complete_clients']}/{result['clients']} sockets complete; {result['closed_sockets']} closed by the server")  # fmt: skip
        print(f"  web CPU {result['web_cpu_percent_during_load']}% and worker CPU {result['worker_cpu_percent_during_load']}% of one core during the load;"
              f" all fills recorded {result['seconds_until_all_recorded']}s after the load began")  # fmt: skip
    print(f"load average: {result['load_start']} at start, {result['load_end']} at end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("memory", "fanout"), required=True)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="also write the result here")
    parser.add_argument("--clients", type=int, default=20, help="fan-out: dashboard sockets")
    parser.add_argument("--seconds", type=float, help="memory: load duration (default 600, --quick 60)")
    args = parser.parse_args()
    logging.getLogger(iblib.LOGGER).setLevel(logging.WARNING)
    stack = Stack(args.backend, name=args.mode)
    stack.setup_django()
    print_header(f"sustained load: {args.mode}", args.backend)
    try:
        result = asyncio.run(run(stack, args.mode, args.quick, args.clients, args.seconds))
    finally:
        stack.teardown()
    report(args.mode, result)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"backend": args.backend, "mode": args.mode, **result}, out, indent=1)


if __name__ == "__main__":
    main()
