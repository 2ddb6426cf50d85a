"""FIFO round trips: partial fills, flips, commissions, several strategies (figures worked by hand)."""

import datetime as dt

import pytest

from trading.performance.roundtrips import FillRecord, ledger_build, unrealized

T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def fill(side, shares, price, commission=0.0, *, minute, strategy="alpha", con_id=756733, symbol="SPY"):
    return FillRecord(
        strategy=strategy, con_id=con_id, symbol=symbol, side=side, shares=shares, price=price, commission=commission,
        executed_at=T0 + dt.timedelta(minutes=minute), exec_id=f"e{minute:04d}",
    )  # fmt: skip


def test_it_nets_both_commissions_out_of_a_simple_long_round_trip():
    ledger = ledger_build([fill("BUY", 10, 100, 1.0, minute=0), fill("SELL", 10, 110, 1.0, minute=5)])
    [trip] = ledger.round_trips
    assert (trip.direction, trip.quantity, trip.entry_price, trip.exit_price) == ("long", 10, 100, 110)
    assert trip.pnl == pytest.approx(98.0) and trip.commission == pytest.approx(2.0)
    assert trip.opened_at == T0 and trip.closed_at == T0 + dt.timedelta(minutes=5)
    assert ledger.open_lots() == []


def test_partial_fills_close_the_oldest_lots_first():
    ledger = ledger_build(
        [
            fill("SELL", 7, 105, 0.7, minute=3),  # given out of order: sorted by execution time
            fill("BUY", 5, 100, 0.5, minute=0),
            fill("BUY", 5, 102, 0.5, minute=1),
            fill("SELL", 3, 110, 0.3, minute=2),
        ]
    )
    first, second = ledger.realizations
    # 3 from the 100 lot: 3 × 10 − 3 × (0.10 + 0.10) = 29.4
    assert first.pnl == pytest.approx(29.4) and first.quantity == 3
    # 2 more from the 100 lot (2 × 5) and 5 from the 102 lot (5 × 3), less 7 × 0.20 of commissions = 23.6
    assert second.pnl == pytest.approx(23.6) and second.commission == pytest.approx(1.4)
    [trip] = ledger.round_trips
    # −500 − 510 + 330 + 735 = 55 gross, 2.0 of commissions
    assert trip.pnl == pytest.approx(53.0) and trip.commission == pytest.approx(2.0)
    assert trip.entry_price == pytest.approx(101.0) and trip.exit_price == pytest.approx(106.5)


def test_a_sell_larger_than_the_position_ends_the_long_trip_and_opens_a_short_one():
    ledger = ledger_build(
        [fill("BUY", 10, 100, 1.0, minute=0), fill("SELL", 15, 110, 1.5, minute=1), fill("BUY", 5, 100, 0.5, minute=2)]
    )
    long_trip, short_trip = ledger.round_trips
    # 10 × 10 − 10 × (0.10 + 0.10) = 98; two thirds of the flip's commission belong to the long trip
    assert (long_trip.direction, long_trip.pnl, long_trip.commission) == ("long", pytest.approx(98.0), pytest.approx(2.0))
    # short 5 at 110 covered at 100: 5 × 10 − 5 × (0.10 + 0.10) = 49
    assert (short_trip.direction, short_trip.quantity) == ("short", 5)
    assert short_trip.pnl == pytest.approx(49.0) and short_trip.commission == pytest.approx(1.0)
    assert short_trip.opened_at == T0 + dt.timedelta(minutes=1)


def test_strategies_trading_the_same_contract_keep_their_own_books():
    ledger = ledger_build(
        [
            fill("BUY", 10, 100, minute=0, strategy="alpha"),
            fill("SELL", 5, 101, 1.0, minute=1, strategy="beta"),  # beta opens a short: it closes nothing of alpha's
            fill("SELL", 10, 105, minute=2, strategy="alpha"),
            fill("BUY", 3, 50, minute=3, strategy="alpha", con_id=1, symbol="XYZ"),
        ]
    )
    [trip] = ledger.round_trips
    assert (trip.strategy, trip.pnl) == ("alpha", pytest.approx(50.0))
    [(strategy, con_id, lot)] = ledger.open_lots("beta")
    assert (strategy, con_id, lot.quantity, lot.price) == ("beta", 756733, -5, 101)
    # short 5 from 101 marked at 99: +10, less its opening commission of 1.0
    assert unrealized([lot], 99.0) == pytest.approx(9.0)
    assert [(s, c) for s, c, _ in ledger.open_lots("alpha")] == [("alpha", 1)]


def test_a_losing_round_trip_is_negative_and_a_position_left_open_makes_no_trip():
    ledger = ledger_build([fill("SELL", 4, 50, 0.4, minute=0), fill("BUY", 4, 52, 0.4, minute=1), fill("BUY", 1, 10, minute=2)])
    [trip] = ledger.round_trips
    assert trip.direction == "short" and trip.pnl == pytest.approx(-8.8)  # 4 × −2 − 0.8
    assert len(ledger.open_lots()) == 1
