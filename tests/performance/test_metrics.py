"""The metrics against figures worked out by hand."""

import math

import pytest

from trading.performance import metrics

PNLS = [10.0, -5.0, 0.0, 20.0, -15.0]
RETURNS = [0.01, -0.02, 0.03, 0.0]


def test_win_rate_counts_a_flat_trip_as_a_trade_but_not_a_win():
    assert metrics.win_rate(PNLS) == pytest.approx(0.4)  # 2 wins of 5 trades
    assert metrics.average_win(PNLS) == pytest.approx(15.0)  # (10 + 20) / 2
    assert metrics.average_loss(PNLS) == pytest.approx(-10.0)  # (−5 − 15) / 2


def test_metrics_of_nothing_are_none_not_zero():
    assert metrics.win_rate([]) is None and metrics.average_win([-1.0]) is None and metrics.average_loss([1.0]) is None
    assert metrics.sharpe([0.01]) is None and metrics.sortino([0.01, 0.02]) is None  # no losing day: no downside
    assert metrics.max_drawdown([]) == (0.0, None)


def test_max_drawdown_is_the_deepest_fall_from_a_running_peak():
    # peaks 100 120 120 130 130 140; falls 0 0 30 0 65 0 → 65, i.e. 65 / 130 of the peak
    amount, fraction = metrics.max_drawdown([100, 120, 90, 130, 65, 140])
    assert amount == pytest.approx(65.0) and fraction == pytest.approx(0.5)


def test_daily_returns_come_from_consecutive_closes():
    assert metrics.daily_returns([100, 110, 99]) == pytest.approx([0.1, -0.1])


def test_sharpe_uses_the_sample_deviation_and_root_252():
    # mean 0.005; deviations .005 −.025 .025 −.005 → Σ² = .0013, / 3 → stdev .0208167
    # .005 / .0208167 = .240192; × √252 (15.874508) = 3.81293
    assert metrics.sharpe(RETURNS) == pytest.approx(3.81293, abs=1e-4)


def test_sortino_divides_by_the_downside_deviation_over_all_days():
    # downside: √(.02² / 4) = .01; .005 / .01 × √252 = 7.937254
    assert metrics.sortino(RETURNS) == pytest.approx(7.937254, abs=1e-5)
    assert math.sqrt(252) == pytest.approx(15.874508)


def test_the_summary_has_every_metric():
    summary = metrics.metrics_summary(trade_pnls=PNLS, equity=[100, 90], returns=RETURNS)
    assert summary["trades"] == 5 and summary["wins"] == 2 and summary["losses"] == 2
    assert summary["max_drawdown"] == pytest.approx(10.0) and summary["max_drawdown_fraction"] == pytest.approx(0.1)
    assert summary["days"] == 4 and summary["sharpe"] is not None and summary["sortino"] is not None
