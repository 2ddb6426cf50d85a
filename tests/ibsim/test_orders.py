"""Orders: fills, commissions, limits and stops, modify, cancel, what-if, rejects, partial fills."""

import pytest
import pytest_asyncio
from ib_insync import LimitOrder, MarketOrder, Order, Stock, StopLimitOrder, StopOrder, TagValue

from tests.ibsim.helpers import ErrorLog, until

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def spy(ib, paper_gateway):
    """SPY, qualified, frozen at 100.00 (bid 99.99 / ask 100.01) so prices move only when a test says so."""
    contract = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(contract)
    paper_gateway.set_tick_interval(0)
    paper_gateway.set_price("SPY", 100.00)
    return contract


async def test_a_market_order_fills_at_the_ask_with_commission_and_position(ib, spy):
    trade = ib.placeOrder(spy, MarketOrder("BUY", 300, orderRef="run-42", tif="DAY"))

    await until(trade.isDone, what="the fill")

    assert [entry.status for entry in trade.log][:3] == ["PendingSubmit", "PreSubmitted", "Submitted"]
    assert trade.orderStatus.status == "Filled"
    assert trade.orderStatus.avgFillPrice == 100.01
    [fill] = trade.fills
    assert fill.execution.side == "BOT" and fill.execution.shares == 300
    assert fill.execution.orderRef == "run-42"
    assert fill.execution.permId == trade.order.permId > 0
    await until(lambda: fill.commissionReport.commission > 0, what="the commission report")
    assert fill.commissionReport.commission == 1.5  # 300 shares x $0.005
    await until(lambda: ib.positions(), what="the position update")
    [position] = ib.positions()
    assert position.position == 300 and position.contract.conId == 756733


async def test_closing_a_position_reports_realized_pnl(ib, spy, paper_gateway):
    opening = ib.placeOrder(spy, MarketOrder("BUY", 100))
    await until(opening.isDone)
    paper_gateway.set_price("SPY", 110.00)

    closing = ib.placeOrder(spy, MarketOrder("SELL", 100))
    await until(lambda: closing.fills and closing.fills[0].commissionReport.execId, what="commission")

    realized = closing.fills[0].commissionReport.realizedPNL
    assert realized == pytest.approx((109.99 - 100.01) * 100 - 1.0 - 1.0, abs=0.01)
    await until(lambda: not ib.positions(), what="the flat position")


async def test_a_limit_order_rests_until_the_price_crosses(ib, spy, paper_gateway):
    trade = ib.placeOrder(spy, LimitOrder("BUY", 100, 95.00))
    await until(lambda: trade.orderStatus.status == "Submitted", what="the order to rest")

    paper_gateway.set_price("SPY", 96.00)
    await ib.reqCurrentTimeAsync()
    assert trade.orderStatus.status == "Submitted"

    paper_gateway.set_price("SPY", 94.50)
    await until(trade.isDone, what="the limit fill")
    assert trade.orderStatus.status == "Filled"
    assert trade.orderStatus.avgFillPrice == 94.51


async def test_a_sell_stop_waits_presubmitted_and_triggers_below_the_stop(ib, spy, paper_gateway):
    trade = ib.placeOrder(spy, StopOrder("SELL", 50, 90.00))
    await until(lambda: trade.orderStatus.status == "PreSubmitted")

    paper_gateway.set_price("SPY", 89.90)

    await until(trade.isDone, what="the stop to trigger and fill")
    assert trade.orderStatus.avgFillPrice == 89.89


async def test_a_modified_limit_price_applies_to_the_resting_order(ib, spy):
    trade = ib.placeOrder(spy, LimitOrder("BUY", 10, 90.00))
    await until(lambda: trade.orderStatus.status == "Submitted")

    trade.order.lmtPrice = 100.05
    ib.placeOrder(spy, trade.order)

    await until(trade.isDone, what="the modified order to fill")
    assert trade.orderStatus.avgFillPrice == 100.01
    assert any(entry.message == "Modify" for entry in trade.log)


async def test_cancelling_a_resting_order_and_a_filled_one(ib, spy):
    errors = ErrorLog(ib)
    resting = ib.placeOrder(spy, LimitOrder("BUY", 10, 50.00))
    await until(lambda: resting.orderStatus.status == "Submitted")

    ib.cancelOrder(resting.order)
    await until(resting.isDone, what="the cancel")
    assert resting.orderStatus.status == "Cancelled"
    assert errors.has(202, resting.order.orderId)

    filled = ib.placeOrder(spy, MarketOrder("BUY", 10))
    await until(filled.isDone)
    ib.cancelOrder(filled.order)
    await until(lambda: errors.has(161, filled.order.orderId), what="error 161")
    assert filled.orderStatus.status == "Filled"


async def test_global_cancel_cancels_every_open_order(ib, spy):
    trades = [ib.placeOrder(spy, LimitOrder("BUY", 1, 50.00 + i)) for i in range(3)]
    await until(lambda: all(t.orderStatus.status == "Submitted" for t in trades))

    ib.reqGlobalCancel()

    await until(lambda: all(t.orderStatus.status == "Cancelled" for t in trades), what="all cancelled")
    assert (await ib.reqOpenOrdersAsync()) == []


async def test_what_if_returns_margin_and_places_nothing(ib, spy, paper_gateway):
    state = await ib.whatIfOrderAsync(spy, MarketOrder("BUY", 1000))

    assert float(state.initMarginChange) == pytest.approx(0.30 * 1000 * 100.00, rel=1e-3)
    assert float(state.initMarginAfter) > float(state.initMarginBefore)
    assert state.commission == 5.0
    assert paper_gateway.orders() == [] and paper_gateway.executions() == []


async def test_a_reused_order_id_is_error_103(ib, spy):
    errors = ErrorLog(ib)
    first = ib.placeOrder(spy, LimitOrder("BUY", 1, 50.00))
    await until(lambda: first.orderStatus.status == "Submitted")
    ib.cancelOrder(first.order)
    await until(first.isDone)

    reused = Order(orderId=first.order.orderId, action="BUY", totalQuantity=1, orderType="MKT")
    ib.client.placeOrder(reused.orderId, spy, reused)

    await until(lambda: errors.has(103, first.order.orderId), what="error 103")


async def test_an_order_for_an_unknown_contract_is_error_200(ib):
    errors = ErrorLog(ib)

    trade = ib.placeOrder(Stock("NOSUCH", "SMART", "USD"), MarketOrder("BUY", 1))

    await until(lambda: errors.has(200, trade.order.orderId), what="error 200")
    assert trade.orderStatus.status == "Cancelled"


async def test_the_next_order_can_be_rejected_on_purpose(ib, spy, paper_gateway):
    errors = ErrorLog(ib)
    paper_gateway.reject_next_order(code=201, message="Order rejected - reason:margin")

    rejected = ib.placeOrder(spy, MarketOrder("BUY", 1))
    await until(lambda: errors.has(201, rejected.order.orderId), what="the reject")
    accepted = ib.placeOrder(spy, MarketOrder("BUY", 1))
    await until(accepted.isDone)

    assert rejected.orderStatus.status == "Cancelled" and not rejected.fills
    assert accepted.orderStatus.status == "Filled"


@pytest.mark.paper_gateway(partial_fills=3)
async def test_partial_fills_come_in_slices(ib, spy):
    trade = ib.placeOrder(spy, MarketOrder("BUY", 300))

    await until(trade.isDone, what="all slices")

    assert [f.execution.shares for f in trade.fills] == [100, 100, 100]
    assert [f.execution.cumQty for f in trade.fills] == [100, 200, 300]
    assert len({f.execution.execId for f in trade.fills}) == 3


async def test_one_order_can_ask_for_partial_fills(ib, spy):
    order = MarketOrder("SELL", 10, orderMiscOptions=[TagValue("ibsim_slices", "2")])

    trade = ib.placeOrder(spy, order)

    await until(trade.isDone)
    assert [f.execution.shares for f in trade.fills] == [5, 5]


async def test_an_ioc_limit_that_cannot_fill_is_cancelled(ib, spy):
    trade = ib.placeOrder(spy, LimitOrder("BUY", 10, 90.00, tif="IOC"))

    await until(trade.isDone)

    assert trade.orderStatus.status == "Cancelled" and not trade.fills


async def test_a_bracket_works_its_children_after_the_parent_fills(ib, spy, paper_gateway):
    parent, take_profit, stop_loss = ib.bracketOrder(
        "BUY", 10, limitPrice=100.05, takeProfitPrice=105, stopLossPrice=95
    )
    trades = [ib.placeOrder(spy, o) for o in (parent, take_profit, stop_loss)]
    await until(trades[0].isDone, what="the parent fill")
    await until(lambda: trades[1].orderStatus.status == "Submitted", what="take-profit working")

    paper_gateway.set_price("SPY", 105.10)

    await until(lambda: trades[1].isDone() and trades[2].isDone(), what="the bracket to finish")
    assert trades[1].orderStatus.status == "Filled"
    assert trades[2].orderStatus.status == "Cancelled"


async def test_a_reject_can_report_the_order_inactive_first(ib, spy, paper_gateway):
    errors = ErrorLog(ib)
    statuses = []
    ib.orderStatusEvent += lambda trade: statuses.append(trade.orderStatus.status)
    paper_gateway.reject_next_order(
        code=201, message="Order rejected - reason:insufficient margin", inactive=True
    )

    trade = ib.placeOrder(spy, MarketOrder("BUY", 1_000_000))

    await until(lambda: errors.has(201, trade.order.orderId))
    assert "Inactive" in statuses
    assert trade.isDone() and not trade.fills
    completed = await ib.reqCompletedOrdersAsync(apiOnly=True)
    assert [t.orderStatus.status for t in completed] == ["Inactive"]


async def test_a_buy_stop_limit_triggers_then_works_as_a_limit(ib, spy, paper_gateway):
    trade = ib.placeOrder(spy, StopLimitOrder("BUY", 20, lmtPrice=101.00, stopPrice=100.50))
    await until(lambda: trade.orderStatus.status == "PreSubmitted")

    paper_gateway.set_price("SPY", 102.00)  # triggers, but the ask is above the limit
    await until(lambda: trade.orderStatus.status == "Submitted", what="the trigger")
    assert not trade.fills

    paper_gateway.set_price("SPY", 100.80)
    await until(trade.isDone, what="the limit fill")
    assert trade.orderStatus.avgFillPrice == 100.81


async def test_an_order_without_an_exchange_is_refused_with_321_before_the_contract_is_looked_up(ib, spy):
    ib.RaiseRequestErrors = True
    errors = ErrorLog(ib)

    trade = ib.placeOrder(Stock("SPY", "", "USD"), MarketOrder("BUY", 1))
    await until(trade.isDone, what="the refusal")
    with pytest.raises(Exception) as refused:
        await ib.whatIfOrderAsync(Stock("XXX"), MarketOrder("BUY", 1))  # ib_insync's own test expects 321

    assert errors.has(321, trade.order.orderId) and "Missing order exchange" in errors.items[0][2]
    assert refused.value.code == 321
    assert trade.orderStatus.status == "Cancelled" and not trade.fills


@pytest.mark.parametrize(("attribute", "code"), [("eTradeOnly", 10268), ("firmQuoteOnly", 10269)])
async def test_order_attributes_ib_no_longer_supports_are_refused(ib, spy, attribute, code):
    errors = ErrorLog(ib)
    order = MarketOrder("BUY", 1)
    setattr(order, attribute, True)

    trade = ib.placeOrder(spy, order)
    await until(trade.isDone, what="the refusal")

    assert errors.has(code, trade.order.orderId)
    assert trade.orderStatus.status == "Cancelled" and not trade.fills


async def test_a_stop_already_through_the_market_triggers_at_once(ib, spy):
    buy_stop = ib.placeOrder(spy, StopOrder("BUY", 1, 95.00))  # the last (100) is already above 95
    sell_stop = ib.placeOrder(spy, StopOrder("SELL", 1, 105.00))

    await until(lambda: buy_stop.isDone() and sell_stop.isDone(), what="both stops to trigger")

    assert buy_stop.orderStatus.avgFillPrice == 100.01 and sell_stop.orderStatus.avgFillPrice == 99.99
