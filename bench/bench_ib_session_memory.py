"""What ib_insync itself keeps per order: RSS of a bare ib_insync master client (no Django, no worker)
while another client places market orders through the paper gateway.

The worker's memory grows with its IB session's order flow; this separates ib_insync's share: the
session keeps every Trade (order, status, log) and Fill of the connection in `ib.trades()` /
`ib.fills()` until it reconnects (IB Gateway restarts daily)::

    python bench/bench_ib_session_memory.py [--orders 3000] [--rate 50]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil

from trading.iblib import IB, MarketOrder, Stock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stack import load_average, machine  # noqa: E402

SYMBOLS = ("SPY", "QQQ", "AAPL", "MSFT", "NVDA")
MASTER = 1


def start_gateway() -> tuple[subprocess.Popen, int]:
    gateway = subprocess.Popen(
        [sys.executable, "-m", "trading.ibsim", "--port", "0", "--master-client-id", str(MASTER), "--tick-interval", "0",
         "--account-update-interval", "180", "--log-level", "WARNING"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = gateway.stdout.readline()
        found = re.search(r"ibsim ready port=(\d+)", line)
        if found:
            return gateway, int(found.group(1))
    gateway.kill()
    raise RuntimeError("the paper gateway did not say its port")


async def run(orders: int, rate: float) -> dict:
    gateway, port = start_gateway()
    try:
        master, placer = IB(), IB()
        await master.connectAsync("127.0.0.1", port, clientId=MASTER, timeout=20)
        await placer.connectAsync("127.0.0.1", port, clientId=2, timeout=20)
        placer.client.MaxRequests = 0
        contracts = await placer.qualifyContractsAsync(*[Stock(s, "SMART", "USD") for s in SYMBOLS])
        me = psutil.Process()
        gc.collect()
        before = me.memory_info().rss / 2**20
        loop = asyncio.get_running_loop()
        began = loop.time()
        for i in range(orders):
            delay = began + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            placer.placeOrder(contracts[i % len(contracts)], MarketOrder("BUY" if i % 2 == 0 else "SELL", 1))
        deadline = loop.time() + 120
        while len(master.fills()) < orders and loop.time() < deadline:
            await asyncio.sleep(0.2)
        placer.disconnect()  # the placer's own Trade objects go: what is left is the master's session
        placer = None
        gc.collect()
        after = me.memory_info().rss / 2**20
        trades, fills = len(master.trades()), len(master.fills())
        master.disconnect()
        gc.collect()
        return {"orders": orders, "rate": rate, "rss_before_mb": round(before, 1), "rss_after_mb": round(after, 1),
                "kb_per_order": round((after - before) * 1024 / orders, 1), "trades": trades, "fills": fills}  # fmt: skip
    finally:
        gateway.terminate()
        gateway.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    print(f"== ib_insync session memory\nmachine: {machine()}\nload average at start: {load_average()}")
    result = asyncio.run(run(args.orders, args.rate))
    print(f"{result['orders']} market orders at {result['rate']:g}/s into a bare ib_insync master client:"
          f" RSS {result['rss_before_mb']} -> {result['rss_after_mb']} MB, {result['kb_per_order']} KB per order;"
          f" its session holds {result['trades']} trades and {result['fills']} fills")  # fmt: skip
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
