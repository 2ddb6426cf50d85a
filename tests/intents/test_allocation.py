"""allocation (the commander) against the paper gateway: real orders, fills and recorded decisions."""

import pytest

from tests.harness import wait_until
from tests.intents.conftest import gateway_positions, submit_and_wait
from tests.intents.factories import target_make
from trading.config import config_update
from trading.models import AllocationDecision, ConfigScope, Holding, Order, OrderStatus, RunStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_it_buys_the_sum_of_fresh_targets_and_records_the_decision(paper_gateway, console_worker, trading_enabled):
    target_make("testsignalgenerator", {"SPY": 5})
    target_make("spy_macd_vixy", {"SPY": 3, "VIXY": 2})

    run = submit_and_wait("allocation")

    assert run.status == RunStatus.SUCCEEDED, run.error
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 8, "VIXY": 2}, what="both orders to fill")
    decision = AllocationDecision.objects.get(run=run)
    assert decision.dry_run is False and run.result["decision"] == decision.pk
    assert {(line["symbol"], line["delta"], line["owner"]) for line in decision.diff} == {
        ("SPY", 8, "testsignalgenerator"),
        ("VIXY", 2, "spy_macd_vixy"),
    }
    assert {o["symbol"]: o["order_ref"] for o in decision.orders} == {
        "SPY": f"ibc:testsignalgenerator/{run.pk}",
        "VIXY": f"ibc:spy_macd_vixy/{run.pk}",
    }
    wait_until(lambda: Holding.objects.filter(strategy="spy_macd_vixy", symbol="VIXY", quantity=2).exists(), what="holdings")


def test_stale_and_missing_strategies_are_reported_and_nothing_is_sent_for_them(paper_gateway, console_worker, trading_enabled):
    target_make("testsignalgenerator", {"SPY": 5}, minutes_old=240)

    run = submit_and_wait("allocation", {"freshMinutes": 60})

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["stale"] == ["testsignalgenerator"] and run.result["missing"] == ["spy_macd_vixy"]
    notes = " ".join(AllocationDecision.objects.get(run=run).notes)
    assert "testsignalgenerator: target #" in notes and "minutes old (stale)" in notes
    assert "spy_macd_vixy: no target published" in notes
    assert paper_gateway.orders() == []
    fresh_enough = submit_and_wait("allocation", {"freshMinutes": 300})
    assert fresh_enough.result["stale"] == [] and len(fresh_enough.result["orders"]) == 1


def test_a_manual_position_is_left_alone_unless_flatten_unowned_positions_is_on(paper_gateway, console_worker, trading_enabled):
    paper_gateway.external_trade("TLT", 7)
    wait_until(lambda: any(p.contract.symbol == "TLT" for p in console_worker.worker.ib.positions()), what="TLT at the worker")
    target_make("testsignalgenerator", {"SPY": 5})

    run = submit_and_wait("allocation")

    assert run.status == RunStatus.SUCCEEDED, run.error
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 5, "TLT": 7}, what="SPY bought, TLT untouched")
    assert "TLT: 7 held by no strategy, left alone" in " ".join(run.result["notes"])

    config_update(scope=ConfigScope.COMMON, changes={"flatten_unowned_positions": True})
    run = submit_and_wait("allocation")

    assert run.status == RunStatus.SUCCEEDED, run.error
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 5}, what="TLT flattened")
    assert [(o["symbol"], o["action"], o["owner"]) for o in run.result["orders"]] == [("TLT", "SELL", "allocation")]


@pytest.mark.paper_gateway(fill_delay=3.0)
def test_open_orders_count_as_held_so_a_second_allocation_places_nothing_new(paper_gateway, console_worker, trading_enabled):
    target_make("testsignalgenerator", {"SPY": 5})

    first = submit_and_wait("allocation")
    second = submit_and_wait("allocation")

    assert first.status == second.status == RunStatus.SUCCEEDED, (first.error, second.error)
    assert len(first.result["orders"]) == 1 and second.result["orders"] == []
    [line] = second.result["diff"]
    assert (line["held"], line["in_flight"], line["delta"]) == (0, 5, 0)
    assert len(paper_gateway.orders()) == 1
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 5}, what="the one order to fill")


def test_a_dry_run_records_planned_orders_and_a_dry_decision_and_sends_nothing(paper_gateway, console_worker, trading_enabled):
    target_make("testsignalgenerator", {"SPY": 5})
    target_make("spy_macd_vixy", {"VIXY": 4}, dry_run=True)

    run = submit_and_wait("allocation", {"dryRun": True})

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert paper_gateway.orders() == []
    decision = AllocationDecision.objects.get(run=run)
    assert decision.dry_run is True
    assert {(o["symbol"], o["quantity"]) for o in decision.orders} == {("SPY", 5), ("VIXY", 4)}
    assert set(Order.objects.filter(run=run).values_list("status", flat=True)) == {OrderStatus.PLANNED}


def test_a_real_allocation_never_acts_on_a_dry_runs_target(paper_gateway, console_worker, trading_enabled):
    target_make("spy_macd_vixy", {"VIXY": 4}, dry_run=True)

    run = submit_and_wait("allocation")

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert "spy_macd_vixy" in run.result["missing"] and paper_gateway.orders() == []


def test_only_the_named_strategies_are_allocated_and_the_others_keep_their_positions(
    paper_gateway, console_worker, trading_enabled
):
    target_make("testsignalgenerator", {"SPY": 5})
    target_make("spy_macd_vixy", {"VIXY": 3})
    submit_and_wait("allocation")
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 5, "VIXY": 3}, what="the first allocation")
    wait_until(lambda: Holding.objects.filter(strategy="spy_macd_vixy", quantity=3).exists(), what="VIXY holding")
    target_make("testsignalgenerator", {"SPY": 6})
    target_make("spy_macd_vixy", {"VIXY": 0})

    run = submit_and_wait("allocation", {"strategies": ["testsignalgenerator"]})

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["strategies"]["not_selected"] == ["spy_macd_vixy"]
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 6, "VIXY": 3}, what="SPY topped up, VIXY kept")


def test_an_order_ib_refuses_fails_the_run_with_ibs_reason_and_the_others_go(paper_gateway, console_worker, trading_enabled):
    target_make("testsignalgenerator", {"SPY": 5, "QQQ": 4})
    paper_gateway.reject_next_order(code=201, message="Order rejected - reason:insufficient margin", inactive=True)

    run = submit_and_wait("allocation")

    assert run.status == RunStatus.FAILED
    assert "1 of 2 order(s) refused" in run.error and "IB refused it" in run.error and "insufficient margin" in run.error
    wait_until(lambda: len(gateway_positions(paper_gateway)) == 1, what="the other order to fill")
