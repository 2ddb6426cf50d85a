"""How many tick messages per second the paper gateway delivers to one ib_insync client.

The gateway runs as its own process (``python -m trading.ibsim``), as in production, so gateway and
client each get a core; the client subscribes to streaming market data for several symbols and
counts the messages it receives and decodes::

    .venv/bin/python bench/bench_ibsim_ticks.py [--symbols 11] [--tick-interval 0.001] [--seconds 10]

Prints the machine (cores, Python), the settings and the measured messages per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from trading.iblib import IB, Stock

REPO = Path(__file__).resolve().parents[1]
SYMBOLS = ("SPY", "QQQ", "IWM", "TLT", "GLD", "VIXY", "AAPL", "MSFT", "NVDA", "TSLA", "AMZN")


def start_gateway(tick_interval: float) -> tuple[subprocess.Popen, int]:
    command = [sys.executable, "-m", "trading.ibsim", "--port", "0", "--tick-interval", str(tick_interval)]
    command += ["--log-level", "WARNING"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
    words = dict(word.split("=") for word in process.stdout.readline().split()[2:])
    return process, int(words["port"])


async def measure(port: int, symbols: int, seconds: float, warmup: float) -> dict:
    ib = IB()
    await ib.connectAsync("127.0.0.1", port, clientId=1, timeout=10)
    contracts = [Stock(symbol, "SMART", "USD") for symbol in SYMBOLS[:symbols]]
    await ib.qualifyContractsAsync(*contracts)
    tickers = [ib.reqMktData(contract) for contract in contracts]
    await asyncio.sleep(warmup)
    first_messages, first_time = ib.client._numMsgRecv, time.perf_counter()
    first_last = [t.last for t in tickers]
    await asyncio.sleep(seconds)
    messages, elapsed = ib.client._numMsgRecv - first_messages, time.perf_counter() - first_time
    moved = sum(t.last != last for t, last in zip(tickers, first_last, strict=True))
    ib.disconnect()
    return {"messages": messages, "seconds": elapsed, "rate": messages / elapsed, "tickers_moved": moved}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--symbols", type=int, default=len(SYMBOLS))
    parser.add_argument("--tick-interval", type=float, default=0.001)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    args = parser.parse_args()
    process, port = start_gateway(args.tick_interval)
    try:
        result = asyncio.run(measure(port, args.symbols, args.seconds, args.warmup))
    finally:
        process.terminate()
        process.wait(timeout=10)
    cpu = platform.processor() or platform.machine()
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    print(f"settings: {args.symbols} symbols, tick interval {args.tick_interval}s, {args.seconds}s measured")
    moved = f"{result['tickers_moved']}/{args.symbols} tickers moved"
    received = f"{result['messages']} messages in {result['seconds']:.2f}s"
    print(f"received: {received} by one ib_insync client ({moved})")
    print(f"rate: {result['rate']:,.0f} tick messages/s")


if __name__ == "__main__":
    main()
