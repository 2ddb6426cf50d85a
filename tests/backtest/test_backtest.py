"""Backtests: the strategy never sees the future, equal inputs print equal bytes, and spy_macd_vixy
runs unchanged on stored bars."""

import datetime as dt

import pytest

from tests.backtest.conftest import Peeker, SmaCross, bars_make
from trading.backtest.bars import bars_load
from trading.backtest.context import BarsMissing
from trading.backtest.engine import BacktestError, BacktestSettings, backtest_run, result_json

pytestmark = pytest.mark.django_db


def test_it_never_shows_a_bar_that_ends_after_the_simulated_time(spy_and_vixy_daily):
    Peeker.seen = []
    backtest_run(strategy=Peeker, start=dt.date(2024, 3, 1), end=dt.date(2024, 4, 30), settings=BacktestSettings(every="12:00"))

    assert len(Peeker.seen) == 43  # weekdays from March 1 to April 30
    for now, bars in Peeker.seen:
        assert all(bar.end <= now for bar in bars)
        # …and the newest bar shown is yesterday's: today's session has not closed at noon.
        assert bars[-1].date == (now - dt.timedelta(days=3 if now.weekday() == 0 else 1)).date()


def test_a_bar_is_visible_from_its_end_and_not_a_second_before(spy_and_vixy_daily):
    series = bars_load(symbol="SPY", bar_size="1 day")
    bar = series.bars[10]

    assert series.window(bar.end, "1 D", "1 day")[-1] == bar
    assert series.window(bar.end - dt.timedelta(seconds=1), "1 D", "1 day")[-1] == series.bars[9]


def test_changing_later_bars_does_not_change_earlier_decisions(spy_and_vixy_daily):
    settings = BacktestSettings(exposure=0.9, strategy_exposure=1.0)
    before = backtest_run(strategy="spy_macd_vixy", start=dt.date(2024, 11, 1), end=dt.date(2024, 12, 31), settings=settings)
    bars_make("SPY", first=dt.date(2024, 12, 2), last=dt.date(2024, 12, 31))  # a different walk from December on
    from trading.models import Bar

    Bar.objects.filter(symbol="SPY", start__date__gte=dt.date(2024, 12, 2)).update(close=1.0)
    after = backtest_run(strategy="spy_macd_vixy", start=dt.date(2024, 11, 1), end=dt.date(2024, 12, 31), settings=settings)

    november = lambda result: [t for t in result["trades"] if t["time"] < "2024-12-02"]  # noqa: E731
    assert november(before) == november(after) and november(before)
    assert before["equity"][:20] == after["equity"][:20]


def test_the_same_inputs_print_the_same_bytes(spy_and_vixy_daily):
    run = lambda: result_json(  # noqa: E731
        backtest_run(
            strategy="spy_macd_vixy",
            start=dt.date(2024, 6, 1),
            end=dt.date(2024, 12, 31),
            settings=BacktestSettings(slippage_bps=2),
        )
    )
    assert run() == run()


def test_spy_macd_vixy_runs_unchanged_and_keeps_its_regime_on_neutral_days(spy_and_vixy_daily):
    result = backtest_run(
        strategy="spy_macd_vixy", start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31), settings=BacktestSettings(exposure=0.5)
    )

    metrics = result["metrics"]
    assert set(result) == {"strategy", "start", "end", "settings", "metrics", "trades", "equity"}
    assert metrics["failed_steps"] == 0 and metrics["fills"] > 0
    assert result["settings"]["overall_exposure"] == 0.5 and result["settings"]["fill"] == "next-open"
    # Most days are neutral: were the previous target not kept, every neutral day would sell everything.
    assert metrics["fills"] < metrics["steps"] / 4 and metrics["exposure"] > 0.3
    assert result["equity"][-1] == ["2024-12-31", metrics["final_equity"]]


def test_it_names_the_bars_it_is_missing(db):
    bars_make("SPY", first=dt.date(2024, 3, 1))

    with pytest.raises(BarsMissing) as missing:
        backtest_run(strategy=SmaCross, start=dt.date(2024, 2, 1), end=dt.date(2025, 1, 31))

    message = str(missing.value)
    assert "1 day for SPY from 2024-01-05 to 2024-02-29" in message
    assert "1 day for SPY from 2025-01-01 to 2025-01-31" in message


def test_it_names_a_hole_in_the_stored_bars(db):
    bars_make("SPY")
    from trading.models import Bar

    Bar.objects.filter(symbol="SPY", start__date__range=(dt.date(2024, 6, 10), dt.date(2024, 6, 12))).delete()

    with pytest.raises(BarsMissing, match="1 day for SPY from 2024-06-10 to 2024-06-12"):
        backtest_run(strategy=SmaCross, start=dt.date(2024, 3, 1), end=dt.date(2024, 12, 31))


def test_bad_input_is_refused_with_the_reason(db):
    with pytest.raises(BacktestError, match="unknown strategy 'summary': not a strategy intent"):
        backtest_run(strategy="summary", start=dt.date(2024, 1, 1), end=dt.date(2024, 2, 1))
    with pytest.raises(BacktestError, match="the end 2024-01-01 is before the start 2024-02-01"):
        backtest_run(strategy=SmaCross, start=dt.date(2024, 2, 1), end=dt.date(2024, 1, 1))
    with pytest.raises(BacktestError, match="--commission is 'ib-fixed' or a per-share rate"):
        backtest_run(
            strategy=SmaCross, start=dt.date(2024, 1, 1), end=dt.date(2024, 2, 1), settings=BacktestSettings(commission="cheap")
        )
    with pytest.raises(BacktestError, match="--every is a time"):
        backtest_run(
            strategy=SmaCross, start=dt.date(2024, 1, 1), end=dt.date(2024, 2, 1), settings=BacktestSettings(every="sometimes")
        )


def test_the_clock_defaults_to_the_strategy_s_enabled_schedule_else_the_close(db):
    from trading.backtest.engine import settings_resolve, strategy_intent
    from trading.intents.schedules import schedule_create, scheduler_zone

    intent = strategy_intent("spy_macd_vixy")
    assert settings_resolve(intent, BacktestSettings())["every"] == "16:00 America/New_York"
    schedule_create(name="spy daily", intent="spy_macd_vixy", params={}, dry_run=False, cron="15 16 * * 1-5", enabled=True)

    assert settings_resolve(intent, BacktestSettings())["every"] == f"16:15 {scheduler_zone().key}"


def test_a_30_minute_strategy_steps_at_every_bar_end(db):
    bars_make("SPY", first=dt.date(2024, 2, 26), last=dt.date(2024, 3, 8), bar_size="30 mins")

    result = backtest_run(
        strategy="testsignalgenerator",
        start=dt.date(2024, 3, 4),
        end=dt.date(2024, 3, 8),
        settings=BacktestSettings(every="30 mins"),
    )

    metrics = result["metrics"]
    assert metrics["steps"] == 5 * 13 and metrics["failed_steps"] == 0 and metrics["fills"] > 5
    assert {t["time"][11:16] for t in result["trades"]} <= {f"{h:02d}:{m:02d}" for h in range(14, 21) for m in (0, 30)}


def test_an_intraday_day_with_too_few_bars_is_a_hole(db):
    bars_make("SPY", first=dt.date(2024, 2, 26), last=dt.date(2024, 3, 8), bar_size="30 mins")
    from trading.models import Bar

    Bar.objects.filter(symbol="SPY", start__date=dt.date(2024, 3, 6), start__hour__gte=16).delete()  # the afternoon lost

    with pytest.raises(BarsMissing, match="30 mins for SPY from 2024-03-06 to 2024-03-06"):
        backtest_run(
            strategy="testsignalgenerator",
            start=dt.date(2024, 3, 4),
            end=dt.date(2024, 3, 8),
            settings=BacktestSettings(every="30 mins"),
        )
