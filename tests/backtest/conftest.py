"""Stored bars for backtest tests and two small strategies that are not registered (they stay out of
the registry other tests see): the engine takes a StrategyIntent class as well as a name."""

import datetime as dt

import pytest
from ib_insync import Stock

from tests.intents.conftest import console_worker  # noqa: F401 (a fixture)
from trading.backtest.bars import bars_store
from trading.backtest.sample import sample_bars
from trading.intents.strategy import StrategyIntent, StrategyParams, history, target_row

FIRST_DAY = dt.date(2023, 1, 2)  # 200 sessions before 2024 for spy_macd_vixy
LAST_DAY = dt.date(2024, 12, 31)


def bars_make(symbol: str, first=FIRST_DAY, last=LAST_DAY, bar_size: str = "1 day") -> list[dict]:
    rows = sample_bars(symbol=symbol, bar_size=bar_size, first=first, last=last)
    bars_store(symbol=symbol, bar_size=bar_size, what_to_show="TRADES", rows=rows, source="csv")
    return rows


@pytest.fixture
def spy_and_vixy_daily(db):
    return {symbol: bars_make(symbol) for symbol in ("SPY", "VIXY")}


class SmaCross(StrategyIntent):
    """100 SPY while the 5-day mean close is above the 20-day one, else flat."""

    name = "test_sma_cross"

    class Params(StrategyParams):
        strategy_id: str = "test_sma_cross"

    async def targets(self, ctx, params, strategy):
        spy = (await ctx.qualify(Stock("SPY", "SMART", "USD")))[0]
        closes = [bar.close for bar in await history(ctx, spy, duration="20 D", bar_size="1 day")]
        return [target_row(spy, sma_cross_quantity(closes))], {}


def sma_cross_quantity(closes) -> int:
    if len(closes) < 20:
        return 0
    return 100 if sum(closes[-5:]) / 5 > sum(closes[-20:]) / 20 else 0


class Peeker(StrategyIntent):
    """Records what it was shown at every step; holds nothing."""

    name = "test_peeker"
    seen: list = []

    class Params(StrategyParams):
        strategy_id: str = "test_peeker"

    async def targets(self, ctx, params, strategy):
        spy = (await ctx.qualify(Stock("SPY", "SMART", "USD")))[0]
        bars = await history(ctx, spy, duration="5 D", bar_size="1 day")
        Peeker.seen.append((ctx.now, bars))
        return [target_row(spy, 0)], {}
