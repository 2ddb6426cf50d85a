"""testsignalgenerator: SPY 30-minute MACD level signal, a published target, nothing sent."""

from decimal import Decimal

import pytest
from ib_insync import Stock

from tests.intents.conftest import submit_and_wait
from trading.intents import strategy
from trading.intents.indicators import level_signal, macd
from trading.intents.runs import IntentParamsInvalid, run_submit
from trading.models import RunSource, RunStatus, Strategy, StrategyTarget, TargetStatus

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.paper_gateway(tick_interval=0)]


def spy_closes(console_worker) -> list[float]:
    """The bars the strategy asks for, fetched the same way on the worker's connection."""
    ib = console_worker.worker.ib
    spy = Stock("SPY", "SMART", "USD")
    bars = console_worker.call(ib.reqHistoricalDataAsync(spy, "", "5 D", "30 mins", "TRADES", True))
    return [bar.close for bar in bars]


def test_it_publishes_a_spy_target_sized_from_net_liquidation_and_the_macd_signal(paper_gateway, console_worker):
    run = submit_and_wait("testsignalgenerator", dry_run=False)

    assert run.status == RunStatus.SUCCEEDED, run.error
    target = StrategyTarget.objects.get(run=run)
    meta = target.metadata
    expected = macd(spy_closes(console_worker))
    assert meta["macd"] == pytest.approx(expected.macd[-1]) and meta["signal"] == pytest.approx(expected.signal[-1])
    assert meta["direction"] == level_signal(expected) != 0
    assert 35 <= meta["bars"] <= 65  # up to 13 half-hour bars a session, 5 sessions
    [row] = target.rows
    assert (row["symbol"], row["con_id"], target.status) == ("SPY", 756733, TargetStatus.SUCCESS)
    assert row["quantity"] == int(meta["net_liquidation"] * 0.9 * 1.0 * meta["direction"] / meta["last_close"])
    assert abs(row["quantity"]) > 1000
    assert paper_gateway.orders() == []


def test_the_strategy_exposure_scales_the_target(paper_gateway, console_worker):
    Strategy.objects.filter(strategy_id="testsignalgenerator").update(exposure=Decimal("0.25"))

    run = submit_and_wait("testsignalgenerator", dry_run=False)

    meta = StrategyTarget.objects.get(run=run).metadata
    assert meta["strategy_exposure"] == "0.2500"
    assert run.result["target"]["rows"][0]["quantity"] == int(
        meta["net_liquidation"] * 0.9 * 0.25 * meta["direction"] / meta["last_close"]
    )


def test_a_dry_run_publishes_a_target_marked_dry_and_sends_nothing(paper_gateway, console_worker):
    run = submit_and_wait("testsignalgenerator", dry_run=True)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["target"]["dry_run"] is True
    assert paper_gateway.orders() == []


def test_it_publishes_under_another_strategy_id(paper_gateway, console_worker):
    Strategy.objects.create(strategy_id="tsg_half", enabled=True, exposure=Decimal("0.5"))

    run = submit_and_wait("testsignalgenerator", {"strategy_id": "tsg_half"}, dry_run=False)

    assert StrategyTarget.objects.get(run=run).strategy.strategy_id == "tsg_half"
    with pytest.raises(IntentParamsInvalid, match="unknown strategy 'nobody'"):
        run_submit(intent="testsignalgenerator", params={"strategy_id": "nobody"}, source=RunSource.CLI)


def test_no_bars_from_ib_publishes_an_error_target_and_fails_the_run(paper_gateway, console_worker, monkeypatch):
    monkeypatch.setattr(strategy, "PACING_BACKOFF", (0.1,))  # refused past the last wait: no bars
    paper_gateway.inject_pacing_violation(2)

    run = submit_and_wait("testsignalgenerator", dry_run=False)

    assert run.status == RunStatus.FAILED and "no 30 mins bars for SPY" in run.error
    target = StrategyTarget.objects.get(run=run)
    assert target.status == TargetStatus.ERROR and "no 30 mins bars" in target.metadata["error"]
