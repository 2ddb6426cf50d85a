"""Event ingest: ticks and order/fill events at increasing rates into a running worker.

The paper gateway (own process, stamping send times), the IB worker (own process: the example
handlers plus bench/handlers/bench_probe.py, which subscribes to market data and stamps handler calls;
a hook stamps recorder commits) and the web process (daphne) with one real websocket client.
Order load comes from a second ib_insync client (client id 2) placing market orders tagged with a
console orderRef; the gateway's master client id is the worker's, so the worker sees them all.

For each rate step: the IB order/fill events the worker received per second (openOrder, orderStatus,
execDetails, commissionReport, counted by the probe), the rate they were recorded at (those events
over the time from the step's start to the commit of its last order or fill: a recorder that falls
behind stretches the denominator), and p50/p99 latency from the gateway's send time to (a) the handler
call, (b) the database commit, (c) the websocket client (fills). Zero loss is checked at the end: every
gateway execution is one Fill row, every order one Order row, all Filled::

    python bench/bench_ingest.py --backend sqlite [--quick]
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

from bench.stack import (  # noqa: E402
    Stack,
    load_average,
    order_client,
    place_paced,
    print_header,
    profile_start,
    summary_ms,
    wait_for,
)
from bench.wsclient import LiveSocket, session_cookie_for  # noqa: E402
from trading import iblib  # noqa: E402

TICK_SYMBOLS = ("SPY", "QQQ", "IWM", "TLT", "GLD", "VIXY", "AAPL", "MSFT", "NVDA", "TSLA")
TICK_STEPS = {"full": (1000, 2500, 5000, 10000, 20000), "quick": (1000, 5000, 10000)}
ORDER_STEPS = {"full": (10, 25, 50, 75, 100, 150), "quick": (25, 75, 150)}  # orders/s; ~7 IB events per market order


async def tick_steps(stack: Stack, steps, seconds: float) -> list[dict]:
    windows = []
    for rate in steps:
        # The gateway steps every instrument each interval; ~4 tick messages per subscribed symbol.
        interval = 4 * len(TICK_SYMBOLS) / rate
        stack.control(f"tick_interval {interval}")
        await asyncio.sleep(1.0)  # warm-up at this rate (a measurement window, not a synchronisation)
        start = time.time()
        await asyncio.sleep(seconds)
        windows.append(
            {"target_ticks_per_s": rate, "interval": interval, "start": start, "end": time.time(), "load": load_average()}
        )
    stack.control("tick_interval 0")
    await asyncio.sleep(2.0)
    return windows


async def order_steps(stack: Stack, steps, seconds: float, order_ref: str, profile: bool) -> list[dict]:
    ib, contracts = await order_client(stack.gateway_port)
    windows, placed = [], 0
    for rate in steps:
        if profile:
            profile_start(stack, "worker", f"orders-{rate}", seconds + 2)
        start, count = time.time(), int(rate * seconds)
        await place_paced(ib, contracts, rate=rate, count=count, order_ref=order_ref, first=placed)
        placed += count
        windows.append({"orders_per_s": rate, "start": start, "end": time.time(), "load": load_average()})
        await asyncio.sleep(2.0)  # let the step drain before the next one
    ib.disconnect()
    return windows


async def _listen(socket: LiveSocket, arrivals: dict) -> None:
    """Read from the moment it connects (an unread socket answers no ping: daphne closes it in ~50 s)."""
    try:
        while True:
            event = await socket.receive()
            if event and event.get("type") == "fill.new":
                arrivals.setdefault(event["payload"]["exec_id"], socket.received_at)
    except ConnectionError:
        pass  # socket.closed_code says why; the report shows it


def in_window(stamp: float, window: dict) -> bool:
    return window["start"] <= stamp < window["end"]


def analyse_ticks(windows, gateway: dict, handlers: dict, symbol_of: dict) -> list[dict]:
    sent = {(symbol_of.get(con_id), volume): at for con_id, volume, at in gateway["quotes"]}
    rows = []
    for window in windows:
        seconds = window["end"] - window["start"]
        ticks = sum(n for at, n in handlers["tick_events"] if in_window(at, window))
        events = sum(1 for at, _ in handlers["tick_events"] if in_window(at, window))
        latencies = [at - sent[(s, v)] for s, v, at in handlers["ticks"] if (s, v) in sent and in_window(sent[(s, v)], window)]
        quotes = sum(1 for con_id, _, at in gateway["quotes"] if in_window(at, window) and con_id in symbol_of)
        rows.append({
            "target_ticks_per_s": window["target_ticks_per_s"], "ticks_per_s": round(ticks / seconds),
            "handler_calls_per_s": round(events / seconds), "quotes_per_s": round(quotes / seconds),
            "handler_latency_ms": summary_ms(latencies), "load": window["load"],
        })  # fmt: skip
    return rows


def analyse_orders(windows, gateway: dict, handlers: dict, recorder: dict, arrivals: dict) -> list[dict]:
    sent = dict(gateway["executions"])
    called = dict(handlers["executions"])
    committed = dict(recorder["fills"])
    rows = []
    for window, after in zip(windows, [*[w["start"] for w in windows[1:]], float("inf")], strict=True):
        seconds = window["end"] - window["start"]
        ids = [exec_id for exec_id, at in sent.items() if in_window(at, window)]
        span = {"start": window["start"], "end": after}  # the step and its drain, up to the next step
        received = sum(1 for at in handlers["order_events"] if in_window(at, span))
        commits = [at for _, _, at in recorder["orders"] if in_window(at, span)] + [committed[i] for i in ids if i in committed]
        recording_seconds = max(max(commits, default=window["end"]) - window["start"], seconds)
        rows.append({
            "orders_per_s": window["orders_per_s"], "fills": len(ids),
            "ib_events": received, "ib_events_per_s": round(received / seconds),
            "events_recorded_per_s": round(received / recording_seconds),
            "recording_seconds": round(recording_seconds, 2),
            "handler_latency_ms": summary_ms([called[i] - sent[i] for i in ids if i in called]),
            "commit_latency_ms": summary_ms([committed[i] - sent[i] for i in ids if i in committed]),
            "websocket_latency_ms": summary_ms([arrivals[i] - sent[i] for i in ids if i in arrivals]),
            "websocket_received": sum(1 for i in ids if i in arrivals), "load": window["load"],
        })  # fmt: skip
    return rows


def check_no_loss(stack: Stack, order_ref: str) -> dict:
    from trading.models import Fill, Order

    executions = stack.control("executions")
    orders = [o for o in stack.control("all_orders") if o["order_ref"] == order_ref]
    gateway_ids = {e["exec_id"] for e in executions if e["order_ref"] == order_ref}
    recorded = set(Fill.objects.filter(order_ref=order_ref).values_list("exec_id", flat=True))
    rows = Order.objects.filter(order_ref=order_ref)
    return {
        "gateway_executions": len(gateway_ids),
        "fill_rows": len(recorded),
        "missing_fills": len(gateway_ids - recorded),
        "extra_fills": len(recorded - gateway_ids),
        "order_rows": rows.count(),
        "order_rows_not_filled": rows.exclude(status="Filled").count(),
        "gateway_orders": len(orders),
        "gateway_orders_not_filled": sum(1 for o in orders if o["status"] != "Filled"),
    }


async def run(stack: Stack, quick: bool, profile: bool = False) -> dict:
    from django.contrib.auth import get_user_model

    from trading.ibsim.contracts import Universe
    from trading.models import IntentRun
    from trading.orderref import order_ref_build

    mode = "quick" if quick else "full"
    seconds = 5.0 if quick else 10.0
    alice = await asyncio.to_thread(
        lambda: get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-1")
    )
    run_row = await asyncio.to_thread(lambda: IntentRun.objects.create(intent="bench", source="system", status="succeeded"))
    order_ref = order_ref_build(owner="bench", run_id=run_row.pk)
    cookie = await asyncio.to_thread(session_cookie_for, alice)

    stack.start_gateway(tick_interval=0)
    stack.start_web()
    await asyncio.to_thread(stack.start_worker, symbols=TICK_SYMBOLS)
    socket = await LiveSocket.connect(stack.web_port, cookie=cookie)
    arrivals: dict[str, float] = {}
    listener = asyncio.create_task(_listen(socket, arrivals))
    stack.control("stamps on")
    tick_windows = await tick_steps(stack, TICK_STEPS[mode], seconds)
    order_windows = await order_steps(stack, ORDER_STEPS[mode], seconds, order_ref, profile)
    executions = len([e for e in stack.control("executions") if e["order_ref"] == order_ref])
    from trading.models import Fill

    await asyncio.to_thread(
        wait_for, lambda: Fill.objects.filter(order_ref=order_ref).count() >= executions, timeout=600, what="every fill recorded"
    )
    await asyncio.sleep(3.0)  # the last pushes reach the socket (arrival times are stamped as they come)
    listener.cancel()
    websocket_closed = socket.closed_code
    await socket.close()
    gateway = stack.gateway_stamps()
    recorder, handlers = stack.worker_stamps()
    symbol_of = {inst.con_id: inst.symbol for inst in Universe().instruments if inst.symbol in TICK_SYMBOLS}
    loss = await asyncio.to_thread(check_no_loss, stack, order_ref)
    return {
        "ticks": analyse_ticks(tick_windows, gateway, handlers, symbol_of),
        "orders": analyse_orders(order_windows, gateway, handlers, recorder, arrivals),
        "loss": loss,
        "recorder_ops": recorder["ops"],
        "websocket_closed_by_server": websocket_closed,
        "seconds_per_step": seconds,
    }


def report(result: dict) -> None:
    print(f"ticks (example handlers + probe bound; {result['seconds_per_step']:.0f}s per step)")
    for row in result["ticks"]:
        lat = row["handler_latency_ms"]
        print(f"  target {row['target_ticks_per_s']:>6}/s: {row['ticks_per_s']:>6} ticks/s in {row['handler_calls_per_s']:>4} handler calls/s;"
              f" gateway->handler p50 {lat.get('p50')} ms p99 {lat.get('p99')} ms (n={lat['n']}); load {row['load']}")  # fmt: skip
    print("order/fill events (market orders from client 2, seen by the worker as master client)")
    for row in result["orders"]:
        h, c, w = row["handler_latency_ms"], row["commit_latency_ms"], row["websocket_latency_ms"]
        print(f"  {row['orders_per_s']:>4} orders/s -> {row['ib_events_per_s']:>5} IB order/fill events/s in,"
              f" {row['events_recorded_per_s']:>5}/s recorded ({row['ib_events']} events in {row['recording_seconds']} s);"
              f" handler p50/p99 {h.get('p50')}/{h.get('p99')} ms; commit p50/p99 {c.get('p50')}/{c.get('p99')} ms;"
              f" websocket p50/p95/p99 {w.get('p50')}/{w.get('p95')}/{w.get('p99')} ms"
              f" ({row['websocket_received']}/{row['fills']} fills); load {row['load']}")  # fmt: skip
    if result.get("websocket_closed_by_server"):
        print(f"the server closed the websocket during the run (code {result['websocket_closed_by_server']})")
    print(f"loss check: {json.dumps(result['loss'])}")
    print(f"recorder writes by kind (whole run): {json.dumps(result['recorder_ops'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="also write the result here")
    parser.add_argument("--profile", action="store_true", help="py-spy the worker during each order step")
    args = parser.parse_args()
    logging.getLogger(iblib.LOGGER).setLevel(logging.WARNING)
    stack = Stack(args.backend, name="ingest")
    stack.setup_django()
    print_header("event ingest", args.backend)
    try:
        result = asyncio.run(run(stack, args.quick, args.profile))
    finally:
        stack.teardown()
    report(result)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"backend": args.backend, **result}, out, indent=1)


if __name__ == "__main__":
    main()
