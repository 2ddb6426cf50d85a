"""The simulated broker's arithmetic, worked out by hand."""

import datetime as dt

import pytest

from trading.backtest.bars import StoredBar
from trading.backtest.broker import Order, SimulatedBroker, commission_model, ib_fixed_commission

T0 = dt.datetime(2024, 3, 4, 21, 15, tzinfo=dt.UTC)


class Prices:
    """Today's bar (close 100) is visible; tomorrow's opens at 101."""

    today = StoredBar(
        dt.date(2024, 3, 4), 99.0, 101.0, 98.0, 100.0, 0.0, T0 - dt.timedelta(hours=7), T0 - dt.timedelta(minutes=15)
    )
    tomorrow = StoredBar(
        dt.date(2024, 3, 5), 101.0, 102.0, 100.0, 101.5, 0.0, T0 + dt.timedelta(hours=17), T0 + dt.timedelta(hours=23)
    )

    def last_at(self, symbol, moment):
        return self.tomorrow if moment >= self.tomorrow.end else self.today

    def next_after(self, symbol, moment):
        return self.tomorrow


def test_ib_fixed_is_half_a_cent_a_share_at_least_a_dollar_at_most_one_percent():
    assert ib_fixed_commission(1000, 50.0) == pytest.approx(5.0)
    assert ib_fixed_commission(10, 50.0) == 1.0  # the $1 minimum
    assert ib_fixed_commission(100, 0.5) == pytest.approx(0.5)  # 1 % of a $50 trade
    assert commission_model("0.01")(300, 10.0) == pytest.approx(3.0)


def test_a_close_fill_pays_the_close_plus_slippage_and_commission():
    broker = SimulatedBroker(cash=10_000.0, fill="close", commission=ib_fixed_commission, slippage_bps=10)
    broker.submit(Order("SPY", 1, 50, T0, "s"), Prices())

    fill = broker.fills[0]
    assert (fill.side, fill.price, fill.commission) == ("BUY", pytest.approx(100.1), 1.0)
    assert broker.cash == pytest.approx(10_000 - 50 * 100.1 - 1.0)
    assert broker.equity(T0, Prices())[0] == pytest.approx(10_000 - 50 * 0.1 - 1.0)


def test_a_next_open_sell_waits_for_the_next_bar_and_gets_its_open_less_slippage():
    broker = SimulatedBroker(cash=0.0, fill="next-open", commission=commission_model("0"), slippage_bps=10)
    broker.positions[1], broker.symbols[1] = 50.0, "SPY"
    broker.submit(Order("SPY", 1, -50, T0, "s"), Prices())
    broker.fill_due(T0 + dt.timedelta(hours=1), Prices())
    assert broker.fills == [] and broker.in_flight() == {1: -50}

    broker.fill_due(Prices.tomorrow.start, Prices())

    assert broker.fills[0].price == pytest.approx(101 * 0.999) and broker.fills[0].time == Prices.tomorrow.start
    assert broker.positions[1] == 0 and broker.cash == pytest.approx(50 * 101 * 0.999)
