"""Several clients at once: order-id spaces, the master client, client 0 and manual TWS orders."""

import pytest
from ib_insync import LimitOrder, MarketOrder, Stock

from tests.ibsim.helpers import ErrorLog, connect, until

pytestmark = pytest.mark.asyncio

MASTER = 9


@pytest.mark.paper_gateway(master_client_id=MASTER, tick_interval=0)
async def test_the_master_client_sees_every_clients_orders_and_fills(paper_gateway):
    trader = await connect(paper_gateway.port, 2)
    bystander = await connect(paper_gateway.port, 3)
    master = await connect(paper_gateway.port, MASTER)
    seen_by_master, seen_by_bystander = [], []
    master.openOrderEvent += seen_by_master.append
    bystander.openOrderEvent += seen_by_bystander.append
    master_fills = []
    master.execDetailsEvent += lambda trade, fill: master_fills.append(fill)
    spy = Stock("SPY", "SMART", "USD")
    await trader.qualifyContractsAsync(spy)

    trade = trader.placeOrder(spy, MarketOrder("BUY", 5, orderRef="from-2"))
    await until(trade.isDone)

    await until(lambda: master_fills, what="the master to see the fill")
    assert master_fills[0].execution.clientId == 2
    assert any(t.order.clientId == 2 and t.order.orderRef == "from-2" for t in seen_by_master)
    assert seen_by_bystander == []
    for client in (trader, bystander, master):
        client.disconnect()


@pytest.mark.paper_gateway(tick_interval=0)
async def test_order_ids_belong_to_the_client_that_placed_them(paper_gateway):
    first = await connect(paper_gateway.port, 4)
    second = await connect(paper_gateway.port, 5)
    spy = Stock("SPY", "SMART", "USD")
    await first.qualifyContractsAsync(spy)
    await second.qualifyContractsAsync(spy)
    paper_gateway.set_price("SPY", 100)
    first_errors, second_errors = ErrorLog(first), ErrorLog(second)

    mine = first.placeOrder(spy, LimitOrder("BUY", 1, 50))
    await until(lambda: mine.orderStatus.status == "Submitted")
    second.client.cancelOrder(mine.order.orderId)  # the same number, but in client 5's id space
    await until(lambda: second_errors.has(10147, mine.order.orderId), what="10147 for the other client")

    assert mine.orderStatus.status == "Submitted"
    assert not first_errors.has(202)
    assert [t.order.orderId for t in await second.reqAllOpenOrdersAsync()] == [mine.order.orderId]
    assert await second.reqOpenOrdersAsync() == []
    first.disconnect()
    second.disconnect()


@pytest.mark.paper_gateway(tick_interval=0)
async def test_client_0_binds_orders_entered_in_tws(paper_gateway):
    tws_client = await connect(paper_gateway.port, 0)
    manual = []
    tws_client.openOrderEvent += manual.append

    paper_gateway.external_trade("IWM", -30)

    await until(lambda: manual, what="the manual order")
    assert manual[0].order.clientId == 0 and manual[0].order.action == "SELL"
    await until(lambda: manual[0].fills, what="its fill")
    tws_client.disconnect()
