"""The wider world: the S&P 100, the main ETFs, FX crosses, indexes and front futures."""

import datetime as dt

import pytest
from ib_insync import Contract, Forex, Future, Index, MarketOrder, Stock

from tests.ibsim.helpers import ErrorLog, until
from trading.ibsim.contracts import UNIVERSE, future_expiries
from trading.ibsim.listings import MADE_UP_BASE, made_up_con_id

pytestmark = pytest.mark.asyncio

DIA_CON_ID = 940_268_740


async def test_the_contract_details_notebook_finds_what_it_looks_for(ib):
    amd, intc = Stock("AMD", "SMART", "USD"), Stock("INTC", "SMART", "USD")
    by_con_id = Contract(conId=4391)

    await ib.qualifyContractsAsync(amd, intc, by_con_id)

    assert (amd.conId, intc.conId) == (4391, 270639)  # IB's own conIds
    assert by_con_id == amd
    assert await ib.reqContractDetailsAsync(Stock("XXX", "SMART", "USD")) == []
    for symbol in ("DIA", "EFA", "EEM", "XLF", "VIXY", "BRK B", "JPM", "UNH"):
        [details] = await ib.reqContractDetailsAsync(Stock(symbol, "SMART", "USD"))
        assert details.contract.conId > 0 and details.longName


async def test_made_up_con_ids_are_stable_and_never_collide_with_ibs():
    con_ids = [inst.con_id for inst in UNIVERSE]

    assert len(con_ids) == len(set(con_ids))
    assert sum(1 for inst in UNIVERSE if inst.sec_type == "STK") >= 130
    made_up = {inst.local_symbol: inst.con_id for inst in UNIVERSE if inst.con_id >= MADE_UP_BASE}
    assert made_up["DIA"] == made_up_con_id("DIA") == DIA_CON_ID  # the same number in every release
    assert {"SPY", "AAPL", "EUR.USD"}.isdisjoint(made_up)


async def test_indexes_are_quoted_and_have_history_but_do_not_trade(ib):
    spx = Index("SPX", "CBOE")
    await ib.qualifyContractsAsync(spx)
    errors = ErrorLog(ib)

    [ticker] = await ib.reqTickersAsync(spx)
    bars = await ib.reqHistoricalDataAsync(spx, "", "2 D", "1 hour", "TRADES", True)
    trade = ib.placeOrder(spx, MarketOrder("BUY", 1))
    await until(trade.isDone, what="the refusal")

    assert spx.conId == 416904
    assert 3000 < ticker.marketPrice() < 9000 and bars
    assert errors.has(201, trade.order.orderId)


async def test_front_futures_carry_their_multiplier_and_are_valued_by_it(ib, paper_gateway):
    month, last_day = future_expiries("Q", dt.datetime.now(dt.UTC).date())[0]
    es = Future("ES", month, "CME")
    [details] = await ib.reqContractDetailsAsync(es)
    es = details.contract
    paper_gateway.set_tick_interval(0)
    before = paper_gateway.status()["net_liquidation"]

    trade = ib.placeOrder(es, MarketOrder("BUY", 2))
    await until(trade.isDone, what="the fill")
    paper_gateway.move_price(es.localSymbol, 10)  # +10 index points on 2 contracts x 50

    assert es.multiplier == "50" and es.lastTradeDateOrContractMonth == last_day.strftime("%Y%m%d")
    assert details.contractMonth == month and es.localSymbol.startswith("ES")
    await until(lambda: ib.positions(), what="the position")
    [position] = ib.positions()
    assert position.avgCost == pytest.approx(trade.orderStatus.avgFillPrice * 50 + 1.7 / 2)
    gain = paper_gateway.status()["net_liquidation"] - before
    mark = paper_gateway.quote(es.localSymbol)["price"]
    assert gain == pytest.approx(2 * 50 * (mark - trade.orderStatus.avgFillPrice) - 1.7, abs=0.02)


async def test_fx_crosses_are_listed(ib):
    eurgbp = Forex("EURGBP")
    await ib.qualifyContractsAsync(eurgbp)

    [ticker] = await ib.reqTickersAsync(eurgbp)

    assert eurgbp.conId > 0 and 0.5 < ticker.marketPrice() < 1.5
