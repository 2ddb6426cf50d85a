"""Option chains: reqSecDefOptParams, contract details, quotes with Greeks from Black-Scholes, orders."""

import math

import pytest
from ib_insync import Index, MarketOrder, Option, Stock

from tests.ibsim.helpers import until
from trading.ibsim.options import black_scholes, implied_vol

pytestmark = pytest.mark.asyncio


async def test_black_scholes_prices_obey_put_call_parity_and_invert():
    call = black_scholes("C", 100.0, 105.0, 0.5, 0.25)
    put = black_scholes("P", 100.0, 105.0, 0.5, 0.25)

    assert call.price - put.price == pytest.approx(100.0 - 105.0 * math.exp(-0.04 * 0.5))
    assert 0 < call.delta < 1 and -1 < put.delta < 0 and call.gamma == pytest.approx(put.gamma)
    assert implied_vol("C", call.price, 100.0, 105.0, 0.5) == pytest.approx(0.25, abs=1e-6)


async def test_the_option_chain_notebook_finds_spx_strikes_and_prices_them(ib, paper_gateway):
    spx = Index("SPX", "CBOE")
    await ib.qualifyContractsAsync(spx)
    [ticker] = await ib.reqTickersAsync(spx)
    value = ticker.marketPrice()

    chains = await ib.reqSecDefOptParamsAsync(spx.symbol, "", spx.secType, spx.conId)
    chain = next(c for c in chains if c.tradingClass == "SPX" and c.exchange == "SMART")
    strikes = [s for s in chain.strikes if s % 5 == 0 and value - 20 < s < value + 20]
    expirations = sorted(chain.expirations)[:3]
    contracts = [Option("SPX", e, s, r, "SMART", tradingClass="SPX") for r in "PC" for e in expirations for s in strikes]
    qualified = await ib.qualifyContractsAsync(*contracts)
    tickers = await ib.reqTickersAsync(*qualified[:4])

    assert {c.tradingClass for c in chains} == {"SPX", "SPXW"} and chain.multiplier == "100"
    assert len(strikes) >= 7 and len(expirations) == 3
    assert len(qualified) == len(contracts) and all(c.conId and c.multiplier == "100" for c in qualified)
    for option_ticker in tickers:
        greeks = option_ticker.modelGreeks
        assert 0 < option_ticker.bid < option_ticker.ask
        assert greeks is not None and greeks.undPrice == pytest.approx(value, rel=0.01)
        assert option_ticker.bid <= greeks.optPrice <= option_ticker.ask
        assert option_ticker.bidGreeks.impliedVol < greeks.impliedVol < option_ticker.askGreeks.impliedVol


async def test_option_details_and_computations(ib):
    spy = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)
    [chain] = [c for c in await ib.reqSecDefOptParamsAsync("SPY", "", "STK", spy.conId) if c.exchange == "SMART"]
    option = Option("SPY", chain.expirations[2], chain.strikes[len(chain.strikes) // 2], "P", "SMART")

    [details] = await ib.reqContractDetailsAsync(option)
    priced = await ib.calculateOptionPriceAsync(details.contract, 0.3, 560.0)
    implied = await ib.calculateImpliedVolatilityAsync(details.contract, priced.optPrice, 560.0)

    assert details.underConId == spy.conId and details.contract.localSymbol.startswith("SPY   ")
    assert details.contract.lastTradeDateOrContractMonth == chain.expirations[2]
    assert priced.delta < 0 and priced.undPrice == 560.0
    assert implied.impliedVol == pytest.approx(0.3, abs=1e-4)


async def test_an_option_trade_is_booked_times_its_multiplier(ib, paper_gateway):
    paper_gateway.set_tick_interval(0)
    paper_gateway.set_price("AAPL", 225)
    aapl = Stock("AAPL", "SMART", "USD")
    await ib.qualifyContractsAsync(aapl)
    [chain] = [c for c in await ib.reqSecDefOptParamsAsync("AAPL", "", "STK", aapl.conId) if c.exchange == "SMART"]
    call = Option("AAPL", chain.expirations[-1], 225.0, "C", "SMART")
    await ib.qualifyContractsAsync(call)
    before = paper_gateway.status()["net_liquidation"]

    trade = ib.placeOrder(call, MarketOrder("BUY", 3))
    await until(trade.isDone, what="the fill")
    await until(lambda: ib.positions(), what="the position")

    [position] = ib.positions()
    fill = trade.orderStatus.avgFillPrice
    assert position.position == 3 and position.avgCost == pytest.approx(fill * 100 + 1.95 / 3)
    paper_gateway.move_price("AAPL", 5)  # the call gains about delta x 5 a share
    mark = await last_price(ib, call)
    gain = paper_gateway.status()["net_liquidation"] - before
    assert gain == pytest.approx(3 * 100 * (mark - fill) - 1.95, abs=0.05)
    assert mark > fill


async def last_price(ib, contract) -> float:
    [ticker] = await ib.reqTickersAsync(contract)
    return ticker.last
