"""MACD math with values worked out by hand (EMA seeded with the first value, alpha = 2 / (span + 1))."""

import pytest

from trading.intents.indicators import BEARISH, BULLISH, NEUTRAL, Macd, crossover, ema, level_signal, macd


def test_it_seeds_the_ema_with_the_first_value_and_smooths_with_two_over_span_plus_one():
    assert ema([1, 2, 3, 4], 3) == [1.0, 1.5, 2.25, 3.125]  # alpha 0.5
    assert ema([10, 10, 10], 12) == [10.0, 10.0, 10.0]
    assert ema([], 5) == []


def test_it_computes_macd_and_its_signal_line_bar_by_bar():
    result = macd([1, 2, 3, 4, 5], fast=2, slow=3, signal=2)
    # fast EMA (alpha 2/3): 1, 5/3, 23/9, 95/27, 365/81; slow EMA (alpha 1/2): 1, 3/2, 9/4, 25/8, 65/16
    assert result.macd == pytest.approx([0.0, 1 / 6, 11 / 36, 85 / 216, 0.4436728395])
    assert result.signal == pytest.approx([0.0, 1 / 9, 13 / 54, 0.3425925926, 0.4099794239])
    assert result.histogram[-1] == pytest.approx(0.4436728395 - 0.4099794239)


def test_macd_12_26_9_of_a_steady_trend_settles_at_seven_times_the_slope():
    # Each EMA lags a linear trend by (span - 1) / 2 bars: 5.5 for 12, 12.5 for 26.
    result = macd([100 + 2 * i for i in range(600)])
    assert result.macd[-1] == pytest.approx(14.0) and result.signal[-1] == pytest.approx(14.0)


def test_macd_refuses_too_short_a_history():
    with pytest.raises(ValueError, match="needs at least 35 closes, got 20"):
        macd(list(range(20)))


def test_the_level_signal_is_the_side_of_the_signal_line_and_zero_when_equal():
    assert level_signal(Macd(macd=[0.0, 2.0], signal=[0.0, 1.0])) == 1
    assert level_signal(Macd(macd=[0.0, 1.0], signal=[0.0, 2.0])) == -1
    assert level_signal(Macd(macd=[0.0, 1.5], signal=[0.0, 1.5])) == 0
    rising = macd([100 + i for i in range(60)])
    assert level_signal(rising) == 1  # the MACD of an accelerating-then-steady rise stays above its signal


def test_a_crossover_counts_only_on_the_last_bar():
    assert crossover(Macd(macd=[1.0, 3.0], signal=[2.0, 2.0])) == BULLISH
    assert crossover(Macd(macd=[2.0, 3.0], signal=[2.0, 2.0])) == BULLISH  # from touching to above
    assert crossover(Macd(macd=[3.0, 1.0], signal=[2.0, 2.0])) == BEARISH
    assert crossover(Macd(macd=[3.0, 4.0], signal=[2.0, 2.0])) == NEUTRAL  # above, and still above
    assert crossover(Macd(macd=[1.0, 0.5], signal=[2.0, 2.0])) == NEUTRAL
    assert crossover(Macd(macd=[2.0, 2.0], signal=[2.0, 2.0])) == NEUTRAL


def test_a_v_shaped_market_turns_bullish_on_the_bar_where_macd_crosses_its_signal():
    closes = [200 - i for i in range(60)] + [140 + 3 * i for i in range(30)]
    regimes = [crossover(macd(closes[: n + 1])) for n in range(40, len(closes))]
    assert regimes.count(BULLISH) == 1 and BEARISH not in regimes
    turn = 40 + regimes.index(BULLISH)
    assert turn > 60  # after the bottom, not before
