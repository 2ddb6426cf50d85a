"""orchestrator: strategies, then reconcile, then allocation — in one run, each step reported."""

from decimal import Decimal

import pytest

from tests.harness import wait_until
from tests.intents.conftest import gateway_positions, submit_and_wait
from trading.models import AllocationDecision, PortfolioSnapshot, RunStatus, Strategy, StrategyTarget

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.paper_gateway(tick_interval=0)]


@pytest.fixture
def small_exposure(transactional_db):
    """testsignalgenerator sized to ~80 SPY, inside the seeded order limits (1,000 shares, 250,000 notional)."""
    Strategy.objects.filter(strategy_id="testsignalgenerator").update(exposure=Decimal("0.05"))


def steps(run) -> dict:
    return {step["step"]: step["status"] for step in run.result["steps"]}


def test_it_runs_the_strategy_then_reconcile_then_allocation_and_trades_the_target(
    paper_gateway, console_worker, trading_enabled, small_exposure
):
    run = submit_and_wait("orchestrator", {"strategies": ["testsignalgenerator"]}, timeout=60)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert list(steps(run).items()) == [
        ("strategy:testsignalgenerator", "succeeded"),
        ("reconcile", "succeeded"),
        ("allocation", "succeeded"),
    ]
    assert run.result["partial"] is False
    quantity = StrategyTarget.objects.get(run=run).rows[0]["quantity"]
    assert 0 < abs(quantity) < 1000
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": quantity}, what="the target to be traded")
    assert PortfolioSnapshot.objects.filter(run=run).exists() and AllocationDecision.objects.filter(run=run).exists()
    assert run.result["orders"][0]["order_ref"] == f"ibc:testsignalgenerator/{run.pk}"


def test_a_failing_step_is_reported_and_the_run_still_succeeds(paper_gateway, console_worker, small_exposure):
    Strategy.objects.create(strategy_id="ghost", enabled=True)  # no intent of that name

    run = submit_and_wait("orchestrator", {"strategies": ["ghost", "testsignalgenerator"]}, dry_run=False, timeout=60)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert steps(run) == {
        "strategy:ghost": "failed",
        "strategy:testsignalgenerator": "succeeded",
        "reconcile": "succeeded",
        "allocation": "failed",  # the kill switch is on (trading not enabled)
    }
    errors = {step["step"]: step.get("error", "") for step in run.result["steps"]}
    assert "unknown intent 'ghost'" in errors["strategy:ghost"] and "kill switch" in errors["allocation"]
    assert run.result["partial"] is True and run.result["failed"] == ["strategy:ghost", "allocation"]
    assert paper_gateway.orders() == []


def test_a_dry_run_publishes_dry_targets_plans_orders_and_sends_nothing(
    paper_gateway, console_worker, trading_enabled, small_exposure
):
    run = submit_and_wait("orchestrator", {"strategies": ["testsignalgenerator"], "dryRun": True}, timeout=60)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert set(steps(run).values()) == {"succeeded"}
    assert AllocationDecision.objects.get(run=run).dry_run is True
    assert len(run.result["orders"]) == 1 and run.result["orders"][0]["dry_run"] is True
    assert paper_gateway.orders() == []


def test_by_default_it_runs_the_enabled_strategies_and_can_skip_reconcile(
    paper_gateway, console_worker, trading_enabled, small_exposure
):
    Strategy.objects.filter(strategy_id="spy_macd_vixy").update(enabled=False)

    run = submit_and_wait("orchestrator", {"runReconcile": False}, dry_run=True, timeout=60)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert steps(run) == {"strategy:testsignalgenerator": "succeeded", "reconcile": "skipped", "allocation": "succeeded"}
    assert not PortfolioSnapshot.objects.filter(run=run).exists()
