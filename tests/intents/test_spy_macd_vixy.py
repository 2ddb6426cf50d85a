"""spy_macd_vixy: crossover regimes on the paper gateway's deterministic daily history.

The gateway's daily bars are fixed per date (only their level follows the live price, and a MACD
crossover does not depend on the level), so the test scans two years of SPY for a bullish, a bearish
and a neutral day and replays each with `asOf` (dry runs).
"""

from datetime import date, timedelta

import pytest
from ib_insync import Stock

from tests.harness import wait_until
from tests.intents.conftest import gateway_positions, submit_and_wait
from tests.intents.factories import target_make
from trading.intents.indicators import BEARISH, BULLISH, NEUTRAL, crossover, macd
from trading.models import Holding, RunStatus, StrategyTarget

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.paper_gateway(tick_interval=0)]

CLEAR_MARGIN = 0.05  # skip days whose MACD and signal are within rounding of each other


def regimes(console_worker, margin: float = CLEAR_MARGIN) -> list[tuple[date, str]]:
    """(day, regime) for every day of the last two years that has 200 daily bars behind it."""
    ib = console_worker.worker.ib
    bars = console_worker.call(ib.reqHistoricalDataAsync(Stock("SPY", "SMART", "USD"), "", "2 Y", "1 day", "TRADES", True), 30)
    closes = [bar.close for bar in bars]
    out = []
    for i in range(199, len(bars)):
        result = macd(closes[i - 199 : i + 1])
        if min(abs(result.histogram[-1]), abs(result.histogram[-2])) >= margin:
            out.append((bars[i].date, crossover(result)))
    return out


def day_of(console_worker, regime: str) -> str:
    days = [day for day, found in regimes(console_worker)[:-1] if found == regime]
    assert days, f"no {regime} day in two years of history"
    return days[-1].isoformat()


def test_a_bullish_day_puts_the_whole_capital_in_spy(paper_gateway, console_worker):
    run = submit_and_wait("spy_macd_vixy", {"asOf": day_of(console_worker, BULLISH)}, dry_run=True)

    assert run.status == RunStatus.SUCCEEDED, run.error
    meta = run.result["target"]["metadata"]
    quantities = {row["symbol"]: row["quantity"] for row in run.result["target"]["rows"]}
    assert meta["regime"] == meta["regime_in_force"] == BULLISH
    assert quantities == {"SPY": int(meta["capital"] / meta["spy_close"]), "VIXY": 0}
    assert meta["capital"] == pytest.approx(meta["net_liquidation"] * 0.9)
    assert paper_gateway.orders() == []


def test_a_bearish_day_shorts_spy_and_buys_vixy_with_half_the_capital_each(paper_gateway, console_worker):
    run = submit_and_wait("spy_macd_vixy", {"asOf": day_of(console_worker, BEARISH)}, dry_run=True)

    assert run.status == RunStatus.SUCCEEDED, run.error
    meta = run.result["target"]["metadata"]
    quantities = {row["symbol"]: row["quantity"] for row in run.result["target"]["rows"]}
    assert meta["regime"] == BEARISH
    assert quantities == {
        "SPY": int(meta["capital"] * -0.5 / meta["spy_close"]),
        "VIXY": int(meta["capital"] * 0.5 / meta["vixy_close"]),
    }
    assert quantities["SPY"] < 0 < quantities["VIXY"]


def test_a_neutral_day_keeps_the_previous_target_so_the_commander_keeps_the_position(
    paper_gateway, console_worker, trading_enabled
):
    yesterday = target_make("spy_macd_vixy", {"SPY": 7, "VIXY": 0}, metadata={"regime_in_force": BULLISH})
    assert submit_and_wait("allocation", {"strategies": ["spy_macd_vixy"]}).status == RunStatus.SUCCEEDED
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 7}, what="yesterday's position")
    wait_until(lambda: Holding.objects.filter(strategy="spy_macd_vixy", symbol="SPY", quantity=7).exists(), what="holding")
    StrategyTarget.objects.filter(pk=yesterday.pk).update(updated_at=yesterday.updated_at - timedelta(days=1))

    strategy_run = submit_and_wait("spy_macd_vixy", {"asOf": day_of(console_worker, NEUTRAL)}, dry_run=True)

    assert strategy_run.status == RunStatus.SUCCEEDED, strategy_run.error
    target = strategy_run.result["target"]
    assert target["metadata"]["regime"] == NEUTRAL and target["metadata"]["regime_in_force"] == BULLISH
    assert {row["symbol"]: row["quantity"] for row in target["rows"]} == {"SPY": 7, "VIXY": 0}
    allocation = submit_and_wait("allocation", {"strategies": ["spy_macd_vixy"], "freshMinutes": 60}, dry_run=True)
    assert allocation.status == RunStatus.SUCCEEDED, allocation.error
    # The seed published an empty target here, and its commander sold the 7 SPY.
    assert allocation.result["orders"] == [] and allocation.result["strategies"]["fresh"] == ["spy_macd_vixy"]
    assert gateway_positions(paper_gateway) == {"SPY": 7}


def test_a_neutral_day_with_no_regime_yet_is_flat(paper_gateway, console_worker):
    run = submit_and_wait("spy_macd_vixy", {"asOf": day_of(console_worker, NEUTRAL)}, dry_run=True)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["target"]["rows"] == [] and run.result["target"]["metadata"]["regime_in_force"] is None


def test_today_publishes_the_regime_of_the_last_session(paper_gateway, console_worker):
    run = submit_and_wait("spy_macd_vixy", dry_run=False)

    assert run.status == RunStatus.SUCCEEDED, run.error
    target = StrategyTarget.objects.get(run=run)
    last_day, regime = regimes(console_worker, margin=0)[-1]
    assert (target.metadata["last_bar"], target.metadata["regime"]) == (last_day.isoformat(), regime)
    assert paper_gateway.orders() == []


def test_as_of_is_only_for_dry_runs(paper_gateway, console_worker):
    run = submit_and_wait("spy_macd_vixy", {"asOf": "2025-03-03"}, dry_run=False)

    assert run.status == RunStatus.FAILED and "only allowed in a dry run" in run.error
    assert not StrategyTarget.objects.exists()
