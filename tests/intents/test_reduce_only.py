"""Reduce-only means reduce: under soft stop, the kill switch or `reduce_only`, an order may only move a
position toward zero and never past it (0 ≤ after/before ≤ 1), counting the worker's own working orders."""

import pytest
from ib_insync import Stock

from tests.harness import wait_until
from tests.intents.conftest import gateway_positions, submit_and_wait
from tests.intents.factories import switches_set, target_make
from trading.intents import Intent, IntentParams, intent_register
from trading.models import ActivityEntry, ActivityKind, AllocationDecision, Order, OrderStatus, RunStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@intent_register
class OrdersForTest(Intent):
    """Places the given orders one after another (a limit price rests far from the market)."""

    name = "test_orders"
    places_orders = True
    allowed_when_killed = True  # as close_all: what the kill switch lets through must still only reduce

    class Params(IntentParams):
        symbol: str = "AAPL"
        orders: list[dict]
        reduce_only: bool = False

    async def run(self, ctx, params):
        contract = Stock(params.symbol, "SMART", "USD")
        await ctx.qualify(contract)
        placed = []
        for spec in params.orders:
            placed.append(
                await ctx.orders.place(
                    contract=contract, action=spec["action"], quantity=spec["quantity"],
                    order_type="LMT" if spec.get("limit") else "MKT", limit_price=spec.get("limit"),
                    owner="testsignalgenerator", reduce_only=params.reduce_only,
                )
            )  # fmt: skip
        return {"placed": [p.as_dict() for p in placed]}


def api_orders(paper_gateway) -> list[tuple]:
    """(action, quantity, type) of every order the worker (client 1) sent to the gateway."""
    return [(o["action"], o["total_quantity"], o["order_type"]) for o in paper_gateway.orders() if o["client_id"] == 1]


def long_aapl(paper_gateway, console_worker, quantity=10):
    paper_gateway.external_trade("AAPL", quantity)
    wait_until(
        lambda: any(p.contract.symbol == "AAPL" and p.position == quantity for p in console_worker.worker.ib.positions()),
        what="the AAPL position at the worker",
    )


def test_soft_stop_never_lets_allocation_turn_a_long_into_a_short(paper_gateway, console_worker, trading_enabled):
    long_aapl(paper_gateway, console_worker)
    switches_set(trading_enabled=True, soft_stop=True)
    target_make("testsignalgenerator", {"AAPL": -10})

    run = submit_and_wait("allocation")

    assert run.status == RunStatus.SUCCEEDED, run.error
    wait_until(lambda: gateway_positions(paper_gateway) == {}, what="AAPL sold to flat, not past it")
    assert api_orders(paper_gateway) == [("SELL", 10, "MKT")]
    decision = AllocationDecision.objects.get(run=run)
    assert [(line["action"], line["quantity"], line["clamped_from"]) for line in decision.diff] == [("SELL", 10, -20)]
    assert "soft stop is on — SELL 20 would take 10 past zero to -10" in " ".join(decision.notes)


def test_soft_stop_refuses_an_order_that_would_flip_a_position_and_records_why(paper_gateway, console_worker, trading_enabled):
    long_aapl(paper_gateway, console_worker)
    switches_set(trading_enabled=True, soft_stop=True)

    run = submit_and_wait("test_orders", {"orders": [{"action": "SELL", "quantity": 20}]}, dry_run=False)

    assert run.status == RunStatus.FAILED
    assert "soft stop is on: SELL 20 AAPL would take the position from 10 to -10" in run.error
    assert api_orders(paper_gateway) == []
    refused = Order.objects.get(run=run)
    assert refused.status == OrderStatus.REFUSED and "never past it" in refused.last_error
    assert ActivityEntry.objects.filter(kind=ActivityKind.ORDER_REFUSED, run=run).exists()
    assert gateway_positions(paper_gateway) == {"AAPL": 10}


def test_two_reducing_orders_cannot_together_flip_a_position(paper_gateway, console_worker, trading_enabled):
    long_aapl(paper_gateway, console_worker)
    switches_set(trading_enabled=True, soft_stop=True)
    resting = {"action": "SELL", "quantity": 8, "limit": round(paper_gateway.quote("AAPL")["ask"] * 3, 2)}

    run = submit_and_wait("test_orders", {"orders": [resting, {"action": "SELL", "quantity": 7}]}, dry_run=False)

    assert run.status == RunStatus.FAILED
    assert "SELL 7 AAPL would take the position from 10 to -5 (counting -8 on this worker's working orders)" in run.error
    assert api_orders(paper_gateway) == [("SELL", 8, "LMT")]
    statuses = list(Order.objects.filter(run=run).order_by("id").values_list("status", flat=True))
    assert statuses[1] == OrderStatus.REFUSED and statuses[0] != OrderStatus.REFUSED


def test_under_the_kill_switch_an_allowed_intent_may_reduce_but_not_flip(paper_gateway, console_worker):
    long_aapl(paper_gateway, console_worker)
    switches_set(trading_enabled=False)

    flip = submit_and_wait("test_orders", {"orders": [{"action": "SELL", "quantity": 20}]}, dry_run=False)
    reduce = submit_and_wait("test_orders", {"orders": [{"action": "SELL", "quantity": 4}]}, dry_run=False)

    assert flip.status == RunStatus.FAILED and "trading is disabled (kill switch): SELL 20 AAPL" in flip.error
    assert reduce.status == RunStatus.SUCCEEDED, reduce.error
    wait_until(lambda: gateway_positions(paper_gateway) == {"AAPL": 6}, what="only the reducing order filled")


def test_a_reduce_only_order_is_refused_when_there_is_nothing_to_reduce(paper_gateway, console_worker, trading_enabled):
    run = submit_and_wait("test_orders", {"orders": [{"action": "SELL", "quantity": 1}], "reduce_only": True}, dry_run=False)

    assert run.status == RunStatus.FAILED and "the order is reduce-only: SELL 1 AAPL" in run.error
    assert api_orders(paper_gateway) == []
