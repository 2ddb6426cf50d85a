"""Connecting: handshake, startup sync, contract qualification, client ids."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from ib_insync import IB, Contract, Forex, MarketOrder, Stock

from tests.ibsim.helpers import ErrorLog, connect, until

pytestmark = pytest.mark.asyncio


async def test_it_completes_the_whole_startup_sync(paper_gateway):
    client = IB()
    notices = []
    client.errorEvent += lambda req_id, code, msg, contract: notices.append(code)

    await client.connectAsync("127.0.0.1", paper_gateway.port, clientId=3, timeout=5)

    assert client.isConnected()
    assert client.client.serverVersion() == 176
    assert client.managedAccounts() == [paper_gateway.account_id]
    assert {2104, 2106, 2158} <= set(notices)
    values = {(v.tag, v.currency): v.value for v in client.accountValues()}
    assert float(values[("NetLiquidation", "USD")]) > 1_000_000
    assert float(values[("CashBalance", "EUR")]) == 20_000
    assert client.positions() == []
    assert client.openTrades() == []
    client.disconnect()


async def test_it_tells_the_time(ib):
    server_time = await ib.reqCurrentTimeAsync()

    assert abs(server_time - datetime.now(UTC)) < timedelta(seconds=5)


async def test_next_valid_id_is_above_every_id_the_client_id_used(paper_gateway):
    first = await connect(paper_gateway.port, 6)
    spy = Stock("SPY", "SMART", "USD")
    await first.qualifyContractsAsync(spy)
    for _ in range(30):
        first.client.getReqId()  # burn ids, as requests do
    trade = first.placeOrder(spy, MarketOrder("BUY", 1))
    await until(trade.isDone)
    first.disconnect()
    await until(lambda: paper_gateway.connected_clients() == [])

    again = await connect(paper_gateway.port, 6)
    other = await connect(paper_gateway.port, 7)

    assert again.client.getReqId() > trade.order.orderId  # ids are kept per client id
    assert other.client.getReqId() < trade.order.orderId
    again.disconnect()
    other.disconnect()


async def test_it_qualifies_stocks_and_fx_with_ibs_conids(ib):
    spy, aapl, eurusd = Stock("SPY", "SMART", "USD"), Stock("AAPL", "SMART", "USD"), Forex("EURUSD")

    qualified = await ib.qualifyContractsAsync(spy, aapl, eurusd)

    assert len(qualified) == 3
    assert (spy.conId, spy.primaryExchange) == (756733, "ARCA")
    assert aapl.conId == 265598
    assert (eurusd.conId, eurusd.localSymbol) == (12087792, "EUR.USD")
    details = await ib.reqContractDetailsAsync(Contract(conId=272093))
    assert details[0].contract.symbol == "MSFT"
    assert details[0].longName == "MICROSOFT CORP"
    assert details[0].tradingSessions()


async def test_it_answers_an_unknown_contract_with_error_200(ib):
    errors = ErrorLog(ib)

    qualified = await ib.qualifyContractsAsync(Stock("NOSUCH", "SMART", "USD"))

    assert qualified == []
    assert errors.has(200)


async def test_it_refuses_a_duplicate_client_id_with_326_and_closes(ib, paper_gateway):
    second = IB()
    errors = ErrorLog(second)

    with pytest.raises((TimeoutError, asyncio.TimeoutError, ConnectionError)):
        await second.connectAsync("127.0.0.1", paper_gateway.port, clientId=1, timeout=1)

    assert errors.has(326)
    assert not second.isConnected()
    assert ib.isConnected()
    assert paper_gateway.connected_clients() == [1]


async def test_a_client_id_is_free_again_after_disconnecting(paper_gateway):
    first = await connect(paper_gateway.port, 5)
    first.disconnect()
    await until(lambda: paper_gateway.connected_clients() == [], what="disconnect seen")

    again = await connect(paper_gateway.port, 5)

    assert again.isConnected()
    again.disconnect()


async def test_symbol_search_market_rules_and_head_timestamp(ib):
    spy = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)

    found = await ib.reqMatchingSymbolsAsync("MS")
    intel = await ib.reqMatchingSymbolsAsync("intc")
    rule = await ib.reqMarketRuleAsync(26)
    first_bar = await ib.reqHeadTimeStampAsync(spy, "TRADES", useRTH=True, formatDate=1)
    first_aapl = await ib.reqHeadTimeStampAsync(Stock("AAPL", "SMART", "USD"), "TRADES", True, 1)

    assert [d.contract.symbol for d in found][:2] == ["MS", "MSFT"]  # the exact symbol first
    assert (intel[0].contract.symbol, intel[0].contract.conId) == ("INTC", 270639)
    assert rule[0].increment == 0.01
    assert first_bar.date().isoformat() == "1993-01-29"  # each listing's own first day
    assert first_aapl.date().isoformat() == "1980-12-12"


async def test_fundamentals_are_refused_as_for_an_account_without_the_subscription(ib):
    spy = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)
    errors = ErrorLog(ib)

    report = await ib.reqFundamentalDataAsync(spy, "ReportsFinSummary")

    assert not report
    assert errors.has(430)  # not 321: ib_async takes 321 for a warning and would wait forever
