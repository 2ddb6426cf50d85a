"""Fault injection: dropped connections, a nightly restart, delays, rate limits, lost connectivity."""

import asyncio

import pytest
from ib_insync import IB, LimitOrder, MarketOrder, Stock

from tests.ibsim.helpers import ErrorLog, connect, until

pytestmark = pytest.mark.asyncio


async def test_dropping_connections_disconnects_every_client(paper_gateway):
    clients = [await connect(paper_gateway.port, cid) for cid in (1, 2)]
    lost = []
    for client in clients:
        client.disconnectedEvent += lambda: lost.append(True)

    assert paper_gateway.drop_connections() == 2

    await until(lambda: len(lost) == 2, what="both clients to notice")
    assert not any(client.isConnected() for client in clients)


@pytest.mark.paper_gateway(tick_interval=0)
async def test_a_restart_keeps_positions_and_executions_and_fills_resting_orders_while_down(paper_gateway):
    client = await connect(paper_gateway.port, 1)
    spy = Stock("SPY", "SMART", "USD")
    await client.qualifyContractsAsync(spy)
    paper_gateway.set_price("SPY", 100)
    bought = client.placeOrder(spy, MarketOrder("BUY", 100))
    await until(bought.isDone)
    resting = client.placeOrder(spy, LimitOrder("SELL", 40, 105, orderRef="take-profit"))
    await until(lambda: resting.orderStatus.status == "Submitted")

    paper_gateway.restart(downtime=0.5)
    await until(lambda: not client.isConnected(), what="the disconnect")
    with pytest.raises(ConnectionRefusedError):
        await IB().connectAsync("127.0.0.1", paper_gateway.port, clientId=1, timeout=1)
    paper_gateway.set_price("SPY", 106)  # the resting order fills while the gateway is down
    paper_gateway.wait_until_up(timeout=5)

    client = await connect(paper_gateway.port, 1)
    positions = {p.contract.symbol: p.position for p in client.positions()}
    assert positions == {"SPY": 60}
    refs = sorted((f.execution.orderRef, f.execution.side) for f in client.fills())
    assert refs == [("", "BOT"), ("take-profit", "SLD")]
    assert client.openTrades() == []
    completed = await client.reqCompletedOrdersAsync(apiOnly=True)
    assert {t.order.orderRef: t.orderStatus.status for t in completed}["take-profit"] == "Filled"
    client.disconnect()


async def test_delayed_replies_arrive_late_and_in_order(ib, paper_gateway):
    paper_gateway.set_reply_delay(0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()

    answered = []
    requests = [
        asyncio.ensure_future(ib.reqContractDetailsAsync(Stock(s, "SMART", "USD"))) for s in ("SPY", "QQQ")
    ]
    for request in requests:
        request.add_done_callback(lambda done: answered.append(done.result()[0].contract.symbol))

    await asyncio.gather(*requests)

    assert loop.time() - started >= 0.3
    assert answered == ["SPY", "QQQ"]
    paper_gateway.set_reply_delay(0)


async def test_the_message_rate_limit_disconnects_a_flooding_client(ib, paper_gateway):
    errors = ErrorLog(ib)
    paper_gateway.set_message_rate_limit(50)
    ib.client.MaxRequests = 0  # let ib_insync flood instead of throttling itself

    for _ in range(80):
        ib.client.reqCurrentTime()

    await until(lambda: not ib.isConnected(), what="the disconnect")
    assert errors.has(100)


async def test_lost_connectivity_is_announced_and_restored(ib, paper_gateway):
    errors = ErrorLog(ib)

    paper_gateway.connectivity_lost(duration=0.2)

    await until(lambda: errors.has(1102), what="connectivity restored")
    codes = errors.codes()
    assert codes.index(1100) < codes.index(2103) < codes.index(1102) < codes.index(2104)
    assert ib.isConnected()
