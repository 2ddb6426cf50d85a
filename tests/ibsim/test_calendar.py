"""Sessions from a real exchange calendar (--calendar XNYS): holidays, early closes, the clock."""

import pytest
from ib_insync import Order, Stock

from tests.ibsim.helpers import until

pytestmark = pytest.mark.asyncio

THANKSGIVING_WEEK_END = "20261127 23:59:59 US/Eastern"


async def bar_days(ib, bar_size, duration, end=THANKSGIVING_WEEK_END):
    spy = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)
    bars = await ib.reqHistoricalDataAsync(spy, end, duration, bar_size, "TRADES", useRTH=True)
    return bars


@pytest.mark.paper_gateway(calendar="XNYS")
async def test_history_skips_the_holiday_and_ends_early_on_the_early_close(ib):
    hourly = await bar_days(ib, "1 hour", "3 D")
    daily = await bar_days(ib, "1 day", "5 D", "20261130 23:59:59 US/Eastern")

    days = sorted({b.date.date().isoformat() for b in hourly})
    assert days == ["2026-11-24", "2026-11-25", "2026-11-27"]  # no bars on Thanksgiving
    last_friday_bar = max(b.date for b in hourly)
    assert (last_friday_bar.hour, last_friday_bar.minute) == (12, 30)  # the last bar before the 13:00 close
    assert [d.date.isoformat() for d in daily] == ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-27",
                                                   "2026-11-30"]  # fmt: skip


@pytest.mark.paper_gateway(calendar="XNYS")
async def test_the_clock_moves_to_a_sessions_close_and_open_and_the_session_follows(ib, paper_gateway):
    spy = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)
    paper_gateway.set_clock("open", "20261127")
    paper_gateway.set_tick_interval(0)
    moc = ib.placeOrder(spy, Order(action="BUY", totalQuantity=5, orderType="MOC"))
    await until(lambda: moc.orderStatus.status == "Submitted", what="the MOC to wait for the close")

    closed = paper_gateway.set_clock("close", "20261127")
    await until(moc.isDone, what="the closing auction")
    opened = paper_gateway.set_clock("open")

    assert closed["now"] == "2026-11-27T18:00:00+00:00" and closed["session"] == "closed"  # 13:00 New York
    assert moc.orderStatus.status == "Filled"
    assert opened["now"] == "2026-11-30T14:30:00+00:00" and opened["session"] == "open"
    assert paper_gateway.status()["calendar"] == "XNYS"


async def test_without_a_calendar_every_weekday_is_a_full_session(ib, paper_gateway):
    hourly = await bar_days(ib, "1 hour", "3 D")

    assert sorted({b.date.date().isoformat() for b in hourly}) == ["2026-11-25", "2026-11-26", "2026-11-27"]
    assert max(b.date for b in hourly).hour == 15
    with pytest.raises(ValueError, match="without a calendar"):
        paper_gateway.set_clock("open")
