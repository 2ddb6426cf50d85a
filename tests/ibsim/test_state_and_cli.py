"""Persistence with --state, and the command line with its control port."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ib_insync import LimitOrder, MarketOrder, Stock

from tests.ibsim.helpers import connect, until
from trading.ibsim.testing import run_in_thread

pytestmark = pytest.mark.asyncio

REPO = Path(__file__).resolve().parents[2]


async def test_the_state_file_carries_positions_orders_and_fills_to_a_new_gateway(tmp_path):
    state_file = tmp_path / "ibsim.json"
    with run_in_thread(port=0, tick_interval=0, state_file=str(state_file)) as gateway:
        client = await connect(gateway.port, 7)
        aapl = Stock("AAPL", "SMART", "USD")
        await client.qualifyContractsAsync(aapl)
        gateway.set_price("AAPL", 200)
        filled = client.placeOrder(aapl, MarketOrder("BUY", 20, orderRef="keep-me"))
        await until(filled.isDone)
        resting = client.placeOrder(aapl, LimitOrder("BUY", 5, 150))
        await until(lambda: resting.orderStatus.status == "Submitted")
        client.disconnect()
    assert json.loads(state_file.read_text())["executions"][0]["order_ref"] == "keep-me"

    with run_in_thread(port=0, tick_interval=0, state_file=str(state_file)) as gateway:
        client = await connect(gateway.port, 7)
        assert {p.contract.symbol: p.position for p in client.positions()} == {"AAPL": 20}
        assert [f.execution.orderRef for f in client.fills()] == ["keep-me"]
        [open_trade] = client.openTrades()
        assert open_trade.order.lmtPrice == 150
        assert gateway.set_price("AAPL", 149)["ask"] == 149.01
        await until(lambda: open_trade.isDone(), what="the restored order to fill")
        next_order = client.placeOrder(aapl, MarketOrder("SELL", 1))
        assert next_order.order.orderId > resting.order.orderId
        client.disconnect()


def _start_cli(*args: str) -> tuple[subprocess.Popen, int, int]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "trading.ibsim", "--port", "0", "--control-port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=REPO,
    )  # fmt: skip
    words = dict(word.split("=") for word in process.stdout.readline().split()[2:])
    return process, int(words["port"]), int(words["control_port"])


async def _command(port: int, line: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(line.encode() + b"\n")
    reply = (await reader.readline()).decode().strip()
    writer.close()
    return reply


async def test_the_command_runs_a_gateway_that_the_control_port_steers():
    process, port, control_port = _start_cli("--seed", "3", "--tick-interval", "0", "--master-client-id", "9")
    try:
        client = await connect(port, 1)
        spy = Stock("SPY", "SMART", "USD")
        await client.qualifyContractsAsync(spy)
        trade = client.placeOrder(spy, LimitOrder("BUY", 10, 90))
        await until(lambda: trade.orderStatus.status == "Submitted")

        assert (await _command(control_port, "set_price SPY 89.5")).startswith("OK ")
        await until(trade.isDone, what="the fill the control port caused")
        status = json.loads((await _command(control_port, "status"))[3:])
        assert status["positions"] == {"SPY": 10} and status["clients"] == [1]
        assert (await _command(control_port, "nonsense")).startswith("ERR ")
        assert (await _command(control_port, "reject_next 1 201 no thanks")) == "OK null"
        client.disconnect()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
