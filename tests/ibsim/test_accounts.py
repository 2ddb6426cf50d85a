"""The paper account: summary, cash by currency, P&L, FX conversions, executions, outside trades."""

import pytest
import pytest_asyncio
from ib_insync import ExecutionFilter, Forex, MarketOrder, Stock

from tests.ibsim.helpers import until

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def frozen(paper_gateway):
    """Prices only move when a test moves them."""
    paper_gateway.set_tick_interval(0)
    return paper_gateway


def usd_values(rows) -> dict[str, float]:
    """The numeric USD rows of an account summary by tag."""
    return {row.tag: float(row.value) for row in rows if row.currency == "USD" and row.tag != "Currency"}


async def test_the_account_summary_has_the_values_a_trader_needs(ib):
    rows = await ib.accountSummaryAsync()

    tags = {row.tag for row in rows}
    assert {"NetLiquidation", "AvailableFunds", "BuyingPower", "InitMarginReq", "ExcessLiquidity"} <= tags
    assert usd_values(rows)["NetLiquidation"] > 1_000_000
    ledger = {
        (row.tag, row.currency): float(row.value)
        for row in rows
        if row.tag in ("CashBalance", "ExchangeRate")
    }
    assert ledger[("CashBalance", "EUR")] == 20_000
    assert ledger[("CashBalance", "JPY")] == 1_500_000
    assert 0 < ledger[("ExchangeRate", "JPY")] < 0.1
    assert ledger[("ExchangeRate", "USD")] == 1


async def test_a_stock_purchase_moves_cash_margin_and_buying_power(ib, frozen):
    spy = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)
    frozen.set_price("SPY", 200.00)
    before = usd_values(await ib.accountSummaryAsync())

    trade = ib.placeOrder(spy, MarketOrder("BUY", 1000))
    await until(trade.isDone)
    ib.wrapper.acctSummary.clear()
    after = usd_values(await ib.accountSummaryAsync())

    assert after["TotalCashValue"] == pytest.approx(before["TotalCashValue"] - 1000 * 200.01 - 5.0, abs=0.01)
    assert after["InitMarginReq"] == pytest.approx(before["InitMarginReq"] + 0.30 * 1000 * 200.00, abs=1)
    assert after["AvailableFunds"] < before["AvailableFunds"]
    assert after["GrossPositionValue"] == pytest.approx(200_000, abs=1)


async def test_pnl_follows_the_price_of_a_held_position(ib, frozen):
    msft = Stock("MSFT", "SMART", "USD")
    await ib.qualifyContractsAsync(msft)
    frozen.set_price("MSFT", 400.00)
    trade = ib.placeOrder(msft, MarketOrder("BUY", 100))
    await until(trade.isDone)
    account = ib.managedAccounts()[0]
    pnl = ib.reqPnL(account)
    single = ib.reqPnLSingle(account, "", msft.conId)

    frozen.set_price("MSFT", 410.00)

    expected = 100 * (410.00 - 400.01) - 1.0  # the commission is in the average cost
    await until(lambda: pnl.unrealizedPnL == pytest.approx(expected, abs=0.01), what="reqPnL update")
    await until(lambda: single.position == 100 and single.value == pytest.approx(41_000), what="reqPnLSingle")
    assert single.unrealizedPnL == pytest.approx(expected, abs=0.01)
    ib.cancelPnL(account)
    ib.cancelPnLSingle(account, "", msft.conId)


async def test_fx_conversion_moves_cash_without_a_position(ib, frozen):
    eur_conversion = Forex("EURUSD", exchange="FXCONV")
    await ib.qualifyContractsAsync(eur_conversion)
    rate = frozen.set_price("EUR.USD", 1.10)["bid"]

    trade = ib.placeOrder(eur_conversion, MarketOrder("SELL", 20_000))
    await until(trade.isDone)

    cash = frozen.cash()
    assert cash["EUR"] == 0
    assert cash["USD"] == pytest.approx(1_000_000 + 20_000 * rate - 2.0, abs=0.01)
    assert frozen.positions() == {}


async def test_idealpro_fx_trades_keep_a_cash_position(ib, frozen):
    usdjpy = Forex("USDJPY")
    await ib.qualifyContractsAsync(usdjpy)

    trade = ib.placeOrder(usdjpy, MarketOrder("BUY", 25_000))
    await until(trade.isDone)

    await until(lambda: any(p.contract.conId == 15016059 and p.position == 25_000 for p in ib.positions()))
    assert frozen.cash()["USD"] == pytest.approx(1_000_000 + 25_000 - 2.0, abs=0.01)


async def test_executions_can_be_filtered_like_ibs_execution_filter(ib, frozen):
    spy, aapl = Stock("SPY", "SMART", "USD"), Stock("AAPL", "SMART", "USD")
    await ib.qualifyContractsAsync(spy, aapl)
    trades = [
        ib.placeOrder(spy, MarketOrder("BUY", 10)),
        ib.placeOrder(aapl, MarketOrder("BUY", 10)),
        ib.placeOrder(aapl, MarketOrder("SELL", 5)),
    ]
    await until(lambda: all(t.isDone() for t in trades))

    aapl_fills = await ib.reqExecutionsAsync(ExecutionFilter(symbol="AAPL"))
    sells = await ib.reqExecutionsAsync(ExecutionFilter(side="SELL"))
    everything = await ib.reqExecutionsAsync()

    assert len(aapl_fills) == 2 and len(sells) == 1 and len(everything) == 3
    assert sells[0].execution.side == "SLD"
    assert all(f.commissionReport.commission > 0 for f in ib.fills())


async def test_an_outside_trade_changes_the_position_and_is_an_execution_of_client_0(ib, frozen):
    seen = []
    ib.positionEvent += seen.append

    frozen.external_trade("TLT", 200)

    await until(
        lambda: any(p.contract.symbol == "TLT" and p.position == 200 for p in seen), what="position update"
    )
    fills = await ib.reqExecutionsAsync()
    [manual] = [f for f in fills if f.contract.symbol == "TLT"]
    assert (manual.execution.clientId, manual.execution.orderId, manual.execution.orderRef) == (0, 0, "")
    completed = await ib.reqCompletedOrdersAsync(apiOnly=False)
    assert any(t.contract.symbol == "TLT" and t.orderStatus.status == "Filled" for t in completed)
    assert not any(t.contract.symbol == "TLT" for t in await ib.reqCompletedOrdersAsync(apiOnly=True))


async def test_an_outside_position_change_can_come_without_any_execution(ib, frozen):
    frozen.external_trade("GLD", -50, with_execution=False)

    await until(lambda: any(p.contract.symbol == "GLD" and p.position == -50 for p in ib.positions()))
    await until(lambda: any(i.contract.symbol == "GLD" for i in ib.portfolio()), what="portfolio update")
    assert await ib.reqExecutionsAsync() == []
