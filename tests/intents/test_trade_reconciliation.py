"""trade_reconciliation: a position snapshot, and today's order rows audited against IB's executions."""

from decimal import Decimal

import pytest

from tests.harness import wait_until
from tests.intents.conftest import gateway_positions, submit_and_wait
from tests.intents.factories import target_make
from trading.models import ActivityEntry, ActivityKind, Order, OrderStatus, PositionSnapshot, RunStatus
from trading.models.activity import Severity

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def buy_spy(paper_gateway, quantity: int) -> Order:
    """A real order through the console (allocation of a target), filled and recorded."""
    target_make("testsignalgenerator", {"SPY": quantity})
    run = submit_and_wait("allocation")
    assert run.status == RunStatus.SUCCEEDED, run.error
    wait_until(lambda: gateway_positions(paper_gateway).get("SPY") == quantity, what="the fill at the gateway")
    return wait_until(lambda: Order.objects.filter(run=run, status=OrderStatus.FILLED).first(), what="the filled row")


def execution_average(paper_gateway) -> Decimal:
    executions = paper_gateway.executions()
    shares = sum(Decimal(str(e["shares"])) for e in executions)
    return (sum(Decimal(str(e["shares"])) * Decimal(str(e["price"])) for e in executions) / shares).quantize(Decimal("0.000001"))


def test_it_snapshots_positions_and_corrects_a_wrong_order_row(paper_gateway, console_worker, trading_enabled):
    order = buy_spy(paper_gateway, 5)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.SUBMITTED, filled=0, remaining=5, avg_fill_price=Decimal("1"))

    run = submit_and_wait("trade_reconciliation")

    assert run.status == RunStatus.SUCCEEDED, run.error
    order.refresh_from_db()
    assert (order.status, order.filled, order.remaining) == (OrderStatus.FILLED, 5, 0)
    assert order.avg_fill_price == execution_average(paper_gateway)
    [corrected] = run.result["corrected"]
    assert corrected["order"] == order.pk and set(corrected["changes"]) == {"status", "filled", "remaining", "avg_fill_price"}
    assert corrected["changes"]["filled"] == {"from": "0", "to": "5"}
    entry = ActivityEntry.objects.get(kind=ActivityKind.RECONCILIATION, payload__order=order.pk)
    assert entry.severity == Severity.WARNING and "corrected from IB" in entry.message
    snapshot = PositionSnapshot.objects.get(run=run)
    assert snapshot.source == "trade_reconciliation"
    assert [(p["symbol"], p["quantity"]) for p in snapshot.positions] == [("SPY", "5.0")]


@pytest.mark.paper_gateway(partial_fills=3)
def test_rows_that_agree_with_ib_are_left_alone(paper_gateway, console_worker, trading_enabled):
    order = buy_spy(paper_gateway, 9)
    assert len(paper_gateway.executions()) == 3

    run = submit_and_wait("trade_reconciliation")

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["audited"] >= 1 and run.result["corrected"] == []
    order.refresh_from_db()
    assert abs(order.avg_fill_price - execution_average(paper_gateway)) <= Decimal("0.0001")


def test_a_dry_run_reports_the_corrections_without_writing_them(paper_gateway, console_worker, trading_enabled):
    order = buy_spy(paper_gateway, 2)
    Order.objects.filter(pk=order.pk).update(filled=1)

    run = submit_and_wait("trade_reconciliation", {"dryRun": True})

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert [c["changes"] for c in run.result["corrected"]] == [{"filled": {"from": "1", "to": "2"}}]
    assert run.result["applied"] is False
    order.refresh_from_db()
    assert order.filled == 1
