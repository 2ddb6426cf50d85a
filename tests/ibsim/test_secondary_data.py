"""Depth, tick-by-tick, historical ticks, histograms, scanners and news lists: data a paper account
gets, shaped by the live quote."""

import datetime as dt

import pytest
from ib_insync import Forex, ScannerSubscription, Stock

from tests.ibsim.helpers import until

pytestmark = pytest.mark.asyncio


async def test_the_depth_book_is_the_quote_then_a_tick_a_level_and_follows_the_price(ib, paper_gateway):
    eurusd = Forex("EURUSD")
    await ib.qualifyContractsAsync(eurusd)
    paper_gateway.set_tick_interval(0)
    paper_gateway.set_price("EURUSD", 1.1)

    ticker = ib.reqMktDepth(eurusd, 5)
    await until(lambda: len(ticker.domBids) == 5 and len(ticker.domAsks) == 5, what="a 5-level book")

    assert [round(level.price, 5) for level in ticker.domBids] == [1.09995, 1.0999, 1.09985, 1.0998, 1.09975]
    assert [round(level.price, 5) for level in ticker.domAsks] == [1.10005, 1.1001, 1.10015, 1.1002, 1.10025]
    paper_gateway.set_price("EURUSD", 1.2)
    await until(lambda: round(ticker.domBids[0].price, 5) == 1.19995, what="the book to follow the price")
    assert round(ticker.domAsks[4].price, 5) == 1.20025


async def test_tick_by_tick_bid_ask_follows_the_quote(ib, paper_gateway):
    spy = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)
    paper_gateway.set_tick_interval(0)
    paper_gateway.set_price("SPY", 500)

    ticker = ib.reqTickByTickData(spy, "BidAsk")
    await until(lambda: ticker.tickByTicks, what="the first tick")
    assert (ticker.tickByTicks[-1].bidPrice, ticker.tickByTicks[-1].askPrice) == (499.99, 500.01)
    paper_gateway.set_price("SPY", 501)  # ib_insync keeps only the ticks of the latest update

    await until(lambda: ticker.tickByTicks and ticker.tickByTicks[-1].bidPrice == 500.99, what="a new tick")


async def test_historical_ticks_end_at_the_live_quote_a_second_apart(ib, paper_gateway):
    eurusd = Forex("EURUSD")
    await ib.qualifyContractsAsync(eurusd)
    paper_gateway.set_tick_interval(0)
    paper_gateway.set_price("EURUSD", 1.1)
    end = dt.datetime.now(dt.UTC)

    ticks = await ib.reqHistoricalTicksAsync(eurusd, "", end, 1000, "BID_ASK", useRth=False)
    trades = await ib.reqHistoricalTicksAsync(eurusd, "", end, 10, "TRADES", useRth=False)

    assert len(ticks) == 1000
    assert (round(ticks[-1].priceBid, 5), round(ticks[-1].priceAsk, 5)) == (1.09995, 1.10005)
    assert (ticks[-1].time - ticks[0].time).total_seconds() == 999
    assert ticks[-1].time <= end
    assert trades == []  # no trade prints for FX, as at IB (error 162)


async def test_scanner_ranks_the_stock_universe_by_the_scan_code(ib, paper_gateway):
    paper_gateway.set_tick_interval(0)
    scan = ScannerSubscription(instrument="STK", locationCode="STK.US.MAJOR", scanCode="HIGH_LAST")

    rows = await ib.reqScannerDataAsync(scan)

    symbols = [row.contractDetails.contract.symbol for row in rows]
    prices = [paper_gateway.quote(symbol)["price"] for symbol in symbols]
    assert len(symbols) == len(set(symbols)) >= 10
    assert prices == sorted(prices, reverse=True)
    assert [row.rank for row in rows] == list(range(len(rows)))


async def test_reference_lists_are_served(ib):
    exchanges = await ib.reqMktDepthExchangesAsync()
    providers = await ib.reqNewsProvidersAsync()
    xml = await ib.reqScannerParametersAsync()
    components = await ib.reqSmartComponentsAsync("9c0001")

    assert ("IDEALPRO", "CASH") in {(d.exchange, d.secType) for d in exchanges}
    assert {"BRFG", "BRFUPDN", "DJNL"} <= {p.code for p in providers}
    assert "<ScanParameterResponse>" in xml and "<scanCode>TOP_PERC_GAIN</scanCode>" in xml
    assert {"NYSE", "ARCA", "ISLAND"} <= {c.exchange for c in components}
