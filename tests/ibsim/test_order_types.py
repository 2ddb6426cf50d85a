"""Order types beyond MKT/LMT/STP: trailing stops, auction orders (MOC, LOC, OPG) and the session clock.

Prices are frozen (no random walk) and moved with ``set_price``; the session moves only with
``market_close()`` / ``market_open()``, never with the wall clock.
"""

import pytest
import pytest_asyncio
from ib_insync import Forex, LimitOrder, MarketOrder, Order, Stock

from tests.ibsim.helpers import ErrorLog, connect, until
from trading.ibsim.control import execute

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def spy(ib, paper_gateway):
    """SPY, qualified, frozen at 100.00 (bid 99.99 / last 100.00 / ask 100.01)."""
    contract = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(contract)
    paper_gateway.set_tick_interval(0)
    paper_gateway.set_price("SPY", 100.00)
    return contract


def trail_stop(paper_gateway, order_id: int) -> float:
    [order] = [o for o in paper_gateway.open_orders() if o["order_id"] == order_id]
    return order["trail_stop_price"]


def pushed_trail_stops(ib) -> list[float]:
    """Every trailStopPrice this client reads in an openOrder message (ib_insync does not copy the
    field onto an existing Trade, so the decoded message itself is watched)."""
    seen: list[float] = []
    deliver = ib.wrapper.openOrder

    def watch(order_id, contract, order, state):
        seen.append(order.trailStopPrice)
        deliver(order_id, contract, order, state)

    ib.wrapper.openOrder = watch
    return seen


async def holding(ib, spy, quantity: int = 100):
    trade = ib.placeOrder(spy, MarketOrder("BUY", quantity))
    await until(trade.isDone, what="the opening buy")
    return trade


# --- trailing stops ----------------------------------------------------------------------------


async def test_a_sell_trailing_stop_follows_the_high_never_loosens_and_triggers_on_the_pullback(ib, spy, paper_gateway):
    await holding(ib, spy)
    pushed = pushed_trail_stops(ib)
    trade = ib.placeOrder(spy, Order(action="SELL", totalQuantity=100, orderType="TRAIL", auxPrice=2.0))
    await until(lambda: trade.orderStatus.status == "PreSubmitted", what="the trail to be held")
    assert trail_stop(paper_gateway, trade.order.orderId) == 98.00

    paper_gateway.set_price("SPY", 105.00)
    await until(lambda: 103.00 in pushed, what="openOrder with the raised stop")
    paper_gateway.set_price("SPY", 104.00)
    paper_gateway.set_price("SPY", 103.50)
    await ib.reqCurrentTimeAsync()
    assert trail_stop(paper_gateway, trade.order.orderId) == 103.00
    assert trade.orderStatus.status == "PreSubmitted" and not trade.fills

    paper_gateway.set_price("SPY", 102.90)

    await until(trade.isDone, what="the trail to trigger and fill")
    assert trade.orderStatus.status == "Filled"
    [fill] = trade.fills
    assert fill.execution.side == "SLD" and fill.execution.shares == 100
    assert fill.execution.price == 102.89  # a market order at the bid once triggered
    assert "Submitted" in [entry.status for entry in trade.log]
    await until(lambda: not ib.positions(), what="the flat position")


async def test_a_buy_trailing_stop_by_percent_follows_the_low(ib, spy, paper_gateway):
    trade = ib.placeOrder(spy, Order(action="BUY", totalQuantity=10, orderType="TRAIL", trailingPercent=5.0))
    await until(lambda: trade.orderStatus.status == "PreSubmitted")
    assert trail_stop(paper_gateway, trade.order.orderId) == 105.00

    paper_gateway.set_price("SPY", 90.00)
    paper_gateway.set_price("SPY", 94.00)
    await ib.reqCurrentTimeAsync()
    assert trail_stop(paper_gateway, trade.order.orderId) == 94.50
    assert not trade.fills

    paper_gateway.set_price("SPY", 94.60)

    await until(trade.isDone, what="the buy trail to fill")
    assert trade.fills[0].execution.price == 94.61
    await until(lambda: ib.positions() and ib.positions()[0].position == 10, what="the long position")


async def test_a_trailing_stop_starts_at_its_initial_stop_price_and_tightens_on_a_new_high(ib, spy, paper_gateway):
    order = Order(action="SELL", totalQuantity=5, orderType="TRAIL", auxPrice=2.0, trailStopPrice=95.0)
    trade = ib.placeOrder(spy, order)
    await until(lambda: trade.orderStatus.status == "PreSubmitted")
    assert trail_stop(paper_gateway, trade.order.orderId) == 95.00

    paper_gateway.set_price("SPY", 101.00)

    assert trail_stop(paper_gateway, trade.order.orderId) == 99.00
    observer = await connect(paper_gateway.port, client_id=2)
    [seen] = await observer.reqAllOpenOrdersAsync()
    observer.disconnect()
    assert (seen.order.orderType, seen.order.auxPrice, seen.order.trailStopPrice) == ("TRAIL", 2.0, 99.0)


async def test_a_modified_trailing_amount_trails_afresh_from_the_current_price(ib, spy, paper_gateway):
    trade = ib.placeOrder(spy, Order(action="SELL", totalQuantity=5, orderType="TRAIL", auxPrice=2.0))
    await until(lambda: trade.orderStatus.status == "PreSubmitted")
    paper_gateway.set_price("SPY", 105.00)
    assert trail_stop(paper_gateway, trade.order.orderId) == 103.00

    trade.order.auxPrice = 1.0
    ib.placeOrder(spy, trade.order)

    await until(lambda: trail_stop(paper_gateway, trade.order.orderId) == 104.00, what="the re-trailed stop")
    assert trade.orderStatus.status == "PreSubmitted" and not trade.fills


async def test_a_trailing_stop_limit_rests_at_its_limit_once_triggered(ib, spy, paper_gateway):
    order = Order(action="SELL", totalQuantity=10, orderType="TRAIL LIMIT", auxPrice=1.0, lmtPriceOffset=0.5)
    trade = ib.placeOrder(spy, order)
    await until(lambda: trade.orderStatus.status == "PreSubmitted")

    paper_gateway.set_price("SPY", 98.00)  # stop 99.00 hit; limit 98.50 above the 97.99 bid
    await until(lambda: trade.orderStatus.status == "Submitted", what="the trigger")
    assert not trade.fills

    paper_gateway.set_price("SPY", 99.00)

    await until(trade.isDone, what="the limit fill")
    assert trade.fills[0].execution.price == 98.99


async def test_orders_ib_refuses_are_refused_with_its_error_codes(ib, spy):
    errors = ErrorLog(ib)
    eurusd = Forex("EURUSD")
    await ib.qualifyContractsAsync(eurusd)
    refused = [
        ib.placeOrder(spy, Order(action="SELL", totalQuantity=1, orderType="TRAIL")),
        ib.placeOrder(spy, Order(action="SELL", totalQuantity=1, orderType="LOC")),
        ib.placeOrder(spy, Order(action="BUY", totalQuantity=1, orderType="STP", auxPrice=101, tif="OPG")),
        ib.placeOrder(eurusd, Order(action="BUY", totalQuantity=20000, orderType="MOC")),
    ]

    await until(lambda: all(t.isDone() for t in refused), what="every refusal")
    expected = [(201, "Trailing amount"), (201, "limit price is missing"), (201, "OPG"), (387, "Unsupported")]
    for trade, (code, text) in zip(refused, expected, strict=True):
        [(_, got, message)] = [item for item in errors.items if item[0] == trade.order.orderId]
        assert got == code and text in message
    assert not ib.fills()


# --- the close ---------------------------------------------------------------------------------


async def test_a_moc_order_waits_for_the_close_and_fills_at_the_closing_price(ib, spy, paper_gateway):
    trade = ib.placeOrder(spy, Order(action="BUY", totalQuantity=100, orderType="MOC"))
    await until(lambda: trade.orderStatus.status == "Submitted", what="the MOC to rest")
    paper_gateway.set_price("SPY", 101.00)
    await ib.reqCurrentTimeAsync()
    assert not trade.fills

    summary = paper_gateway.market_close()

    await until(trade.isDone, what="the closing auction")
    assert summary["filled"] == 1
    [fill] = trade.fills
    assert fill.execution.price == 101.00  # the closing print, not the 101.01 ask
    await until(lambda: ib.positions() and ib.positions()[0].position == 100, what="the position")


async def test_a_loc_order_fills_when_the_close_meets_its_limit_and_is_cancelled_when_not(ib, spy, paper_gateway):
    errors = ErrorLog(ib)
    missed = ib.placeOrder(spy, Order(action="BUY", totalQuantity=10, orderType="LOC", lmtPrice=99.00))
    met = ib.placeOrder(spy, Order(action="BUY", totalQuantity=10, orderType="LOC", lmtPrice=100.50))
    await until(lambda: missed.orderStatus.status == met.orderStatus.status == "Submitted")

    paper_gateway.market_close()

    await until(lambda: missed.isDone() and met.isDone(), what="the closing auction")
    assert missed.orderStatus.status == "Cancelled" and not missed.fills
    assert errors.has(202, missed.order.orderId)
    assert met.orderStatus.status == "Filled" and met.fills[0].execution.price == 100.00
    assert [f.execution.orderId for f in ib.fills()] == [met.order.orderId]


async def test_day_orders_expire_at_the_close_and_gtc_orders_wait_for_the_open(ib, spy, paper_gateway):
    errors = ErrorLog(ib)
    day = ib.placeOrder(spy, LimitOrder("BUY", 10, 90.00))
    gtc = ib.placeOrder(spy, LimitOrder("BUY", 10, 90.00, tif="GTC"))
    await until(lambda: day.orderStatus.status == gtc.orderStatus.status == "Submitted")

    paper_gateway.market_close()
    await until(day.isDone, what="the DAY order to expire")
    assert day.orderStatus.status == "Cancelled"

    paper_gateway.set_price("SPY", 89.00)  # through the GTC limit, but the exchange is closed
    held = ib.placeOrder(spy, MarketOrder("BUY", 5))
    await until(lambda: errors.has(399, held.order.orderId), what="the held-until-open warning")
    assert held.orderStatus.status == "PreSubmitted"
    assert not gtc.fills and not held.fills and paper_gateway.status()["session"] == "closed"

    paper_gateway.market_open()

    await until(lambda: gtc.isDone() and held.isDone(), what="both to fill at the open")
    assert gtc.fills[0].execution.price == 89.01 and held.fills[0].execution.price == 89.01


# --- the open ----------------------------------------------------------------------------------


async def test_opg_orders_execute_at_the_opening_price_or_are_cancelled(ib, spy, paper_gateway):
    paper_gateway.market_close()
    at_market = ib.placeOrder(spy, MarketOrder("BUY", 50, tif="OPG"))
    limited = ib.placeOrder(spy, LimitOrder("BUY", 50, 101.00, tif="OPG"))
    await until(lambda: at_market.orderStatus.status == limited.orderStatus.status == "PreSubmitted")
    paper_gateway.set_price("SPY", 102.00)

    summary = paper_gateway.market_open()

    await until(lambda: at_market.isDone() and limited.isDone(), what="the opening auction")
    assert summary == {"session": "open", "filled": 1, "cancelled": 1}
    assert at_market.fills[0].execution.price == 102.00
    assert limited.orderStatus.status == "Cancelled" and not limited.fills
    await until(lambda: ib.positions() and ib.positions()[0].position == 50, what="the position")


async def test_an_opg_order_placed_while_open_waits_for_the_next_open(ib, spy, paper_gateway):
    trade = ib.placeOrder(spy, LimitOrder("SELL", 10, 99.00, tif="OPG"))
    await until(lambda: trade.orderStatus.status == "PreSubmitted")

    paper_gateway.market_close()
    await ib.reqCurrentTimeAsync()
    assert trade.orderStatus.status == "PreSubmitted"
    paper_gateway.market_open()

    await until(trade.isDone, what="the opening auction")
    assert trade.fills[0].execution.price == 100.00


async def test_the_control_port_moves_the_session(paper_gateway):
    assert (await_on(paper_gateway, "close")).startswith('OK {"session": "closed"')
    assert await_on(paper_gateway, "close") == "ERR close: the market is already closed"
    assert paper_gateway.status()["session"] == "closed"
    assert await_on(paper_gateway, "open").startswith('OK {"session": "open"')


def await_on(paper_gateway, line: str) -> str:
    return paper_gateway.run(execute(paper_gateway.gateway, line))
