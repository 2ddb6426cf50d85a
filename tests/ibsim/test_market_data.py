"""Market data: snapshots, streaming ticks, historical and real-time bars."""

import math

import pytest
from ib_insync import Forex, Stock

from tests.ibsim.helpers import ErrorLog, until
from trading.ibsim.server import next_boundary

pytestmark = pytest.mark.asyncio


async def test_a_snapshot_has_a_quote_around_the_live_price(ib, paper_gateway):
    spy = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)
    paper_gateway.set_price("SPY", 500)

    [ticker] = await ib.reqTickersAsync(spy)

    assert ticker.bid < ticker.last < ticker.ask
    assert math.isclose(ticker.ask - ticker.bid, 0.02, abs_tol=1e-6)
    assert ticker.close > 0 and ticker.volume >= 0


async def test_fx_quotes_have_no_last_price_but_a_midpoint(ib):
    eurusd = Forex("EURUSD")
    await ib.qualifyContractsAsync(eurusd)

    [ticker] = await ib.reqTickersAsync(eurusd)

    assert math.isnan(ticker.last)
    assert ticker.bid < ticker.midpoint() < ticker.ask


async def test_streaming_ticks_follow_price_changes_until_cancelled(ib, paper_gateway):
    aapl = Stock("AAPL", "SMART", "USD")
    await ib.qualifyContractsAsync(aapl)
    ticker = ib.reqMktData(aapl)
    await until(lambda: ticker.last > 0, what="first ticks")
    paper_gateway.set_tick_interval(0)  # from here only set_price moves it: no random step may follow 123.45

    paper_gateway.set_price("AAPL", 123.45)
    await until(lambda: ticker.last == 123.45, what="tick at the new price")
    assert (ticker.bid, ticker.ask) == (123.44, 123.46)

    ib.cancelMktData(aapl)
    paper_gateway.set_price("AAPL", 150.00)
    await ib.reqCurrentTimeAsync()  # a round trip: any tick sent after the cancel would be in by now
    assert ticker.last == 123.45


async def test_historical_bars_end_at_the_live_price(ib, paper_gateway):
    spy = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)
    paper_gateway.set_tick_interval(0)
    live = paper_gateway.set_price("SPY", 432.10)["price"]

    bars = await ib.reqHistoricalDataAsync(spy, "", "5 D", "30 mins", "TRADES", useRTH=True)

    assert 13 * 4 <= len(bars) <= 13 * 5  # five trading days of 13 half-hour RTH bars (today may be partial)
    assert bars[-1].close == live
    assert all(b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close) for b in bars)
    assert all(b.date.tzinfo is not None for b in bars)


async def test_historical_bars_are_deterministic_for_a_seed(ib, paper_gateway):
    qqq = Stock("QQQ", "SMART", "USD")
    await ib.qualifyContractsAsync(qqq)
    paper_gateway.set_tick_interval(0)

    first = await ib.reqHistoricalDataAsync(qqq, "", "200 D", "1 day", "TRADES", useRTH=True)
    second = await ib.reqHistoricalDataAsync(qqq, "", "200 D", "1 day", "TRADES", useRTH=True)

    assert len(first) == 200
    assert [(b.date, b.close) for b in first] == [(b.date, b.close) for b in second]


async def test_fx_has_no_trades_history_but_has_midpoints(ib):
    eurusd = Forex("EURUSD")
    await ib.qualifyContractsAsync(eurusd)
    errors = ErrorLog(ib)

    trades = await ib.reqHistoricalDataAsync(eurusd, "", "1 D", "1 hour", "TRADES", useRTH=False)
    midpoints = await ib.reqHistoricalDataAsync(eurusd, "", "1 D", "1 hour", "MIDPOINT", useRTH=False)

    assert len(trades) == 0 and errors.has(162)
    assert midpoints and all(b.volume == -1 for b in midpoints)


async def test_kept_up_to_date_bars_follow_the_price(ib, paper_gateway):
    spy = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)
    paper_gateway.set_tick_interval(0)
    bars = await ib.reqHistoricalDataAsync(spy, "", "2 D", "1 day", "TRADES", useRTH=True, keepUpToDate=True)
    updates = []
    bars.updateEvent += lambda bar_list, has_new_bar: updates.append(bar_list[-1].close)

    paper_gateway.set_price("SPY", bars[-1].close + 5)

    await until(lambda: updates and updates[-1] == bars[-1].close, what="a bar update")
    assert bars[-1].close == paper_gateway.quote("SPY")["price"]
    ib.cancelHistoricalData(bars)


async def test_a_pacing_violation_fails_the_request_with_162(ib, paper_gateway):
    spy = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)
    errors = ErrorLog(ib)
    paper_gateway.inject_pacing_violation(1)

    refused = await ib.reqHistoricalDataAsync(spy, "", "1 D", "1 hour", "TRADES", useRTH=True)
    served = await ib.reqHistoricalDataAsync(spy, "", "1 D", "1 hour", "TRADES", useRTH=True)

    assert len(refused) == 0 and errors.has(162)
    assert "pacing violation" in errors.items[0][2]
    assert len(served) > 0


@pytest.mark.paper_gateway(realtime_bar_seconds=1)
async def test_real_time_bars_arrive_every_window_on_the_clocks_boundaries(ib):
    iwm = Stock("IWM", "SMART", "USD")
    await ib.qualifyContractsAsync(iwm)

    bars = ib.reqRealTimeBars(iwm, 5, "TRADES", useRTH=False)

    await until(lambda: len(bars) >= 2, what="two real-time bars")
    assert all(b.low <= b.close <= b.high for b in bars)
    assert [b.time.timestamp() % 1 for b in bars] == [0.0] * len(bars)
    assert (bars[1].time - bars[0].time).total_seconds() == 1
    ib.cancelRealTimeBars(bars)


async def test_five_second_bars_close_on_00_and_05():
    assert next_boundary(1_700_000_003.2, 5) == 1_700_000_005
    assert next_boundary(1_700_000_005.0, 5) == 1_700_000_010  # a bar that just closed is not closed again
    assert next_boundary(1_700_000_009.999, 5) == 1_700_000_010


@pytest.mark.parametrize(
    ("duration", "bar_size", "at_least", "at_most"),
    [
        ("3600 S", "1 min", 60, 60),
        ("1 W", "1 hour", 4 * 7, 5 * 7),  # today may be partial or not started
        ("1 M", "1 day", 21, 21),
        ("1 Y", "1 week", 50, 54),
        ("2 Y", "1 month", 24, 25),
    ],
)
async def test_the_usual_durations_and_bar_sizes(ib, paper_gateway, duration, bar_size, at_least, at_most):
    tlt = Stock("TLT", "SMART", "USD")
    await ib.qualifyContractsAsync(tlt)
    paper_gateway.set_tick_interval(0)
    live = paper_gateway.quote("TLT")["price"]

    bars = await ib.reqHistoricalDataAsync(tlt, "", duration, bar_size, "TRADES", useRTH=True)

    assert at_least <= len(bars) <= at_most
    assert bars[-1].close == live
    assert [b.date for b in bars] == sorted({b.date for b in bars})
