"""modify_order and cancel_order by the console's order row id, checked at the gateway like new orders."""

import pytest

from tests.harness import wait_until
from tests.intents.conftest import gateway_positions, submit_and_wait
from tests.intents.factories import switches_set
from trading.models import ActivityEntry, ActivityKind, Order, OrderStatus, RunStatus

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.paper_gateway(tick_interval=0)]


def open_console_orders(paper_gateway) -> list[dict]:
    return [o for o in paper_gateway.open_orders() if o["client_id"] == 1]


def resting_buy(paper_gateway, quantity=5, limit=90) -> Order:
    paper_gateway.set_price("SPY", 100)
    run = submit_and_wait(
        "place_order", {"symbol": "SPY", "action": "BUY", "quantity": quantity, "limit_price": limit}, dry_run=False
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    return Order.objects.get(run=run)


def test_modify_changes_the_limit_price_and_quantity_of_the_working_order_at_the_gateway(
    paper_gateway, console_worker, trading_enabled
):
    row = resting_buy(paper_gateway)

    run = submit_and_wait("modify_order", {"order": row.pk, "limit_price": "91.5", "quantity": 7}, dry_run=False)

    assert run.status == RunStatus.SUCCEEDED, run.error
    (working,) = open_console_orders(paper_gateway)
    assert (working["order_id"], working["lmt_price"], working["total_quantity"]) == (row.order_id, 91.5, 7)
    wait_until(lambda: Order.objects.get(pk=row.pk).lmt_price == 91.5, what="the row mirrors IB's new terms")
    assert Order.objects.filter(order_id=row.order_id).count() == 1 and Order.objects.get(pk=row.pk).total_quantity == 7
    paper_gateway.set_price("SPY", 91)
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 7}, what="the modified order filled at its new price")


def test_a_stop_price_modify_moves_the_stop_at_the_gateway(paper_gateway, console_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)
    placed = submit_and_wait("place_order", {"symbol": "SPY", "action": "BUY", "quantity": 2, "stop_price": 110}, dry_run=False)
    row = Order.objects.get(run=placed)

    run = submit_and_wait("modify_order", {"order": row.pk, "stopPrice": 108}, dry_run=False)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert [(o["order_type"], o["aux_price"]) for o in open_console_orders(paper_gateway)] == [("STP", 108)]


def test_under_soft_stop_a_quantity_increase_is_refused_and_the_order_keeps_working_as_it_was(
    paper_gateway, console_worker, trading_enabled
):
    row = resting_buy(paper_gateway)
    switches_set(trading_enabled=True, soft_stop=True)

    run = submit_and_wait("modify_order", {"order": row.pk, "quantity": 9}, dry_run=False)

    assert run.status == RunStatus.FAILED and "soft stop is on: BUY 9 SPY would take the position from 0 to 9" in run.error
    assert [(o["total_quantity"], o["lmt_price"]) for o in open_console_orders(paper_gateway)] == [(5, 90)]
    refusal = ActivityEntry.objects.get(kind=ActivityKind.ORDER_REFUSED, run=run)
    assert refusal.payload["order"] == row.pk and refusal.payload["modify"] is True


def test_under_the_kill_switch_a_modify_is_refused_like_a_new_order(paper_gateway, console_worker, trading_enabled):
    row = resting_buy(paper_gateway)
    switches_set(trading_enabled=False)

    run = submit_and_wait("modify_order", {"order": row.pk, "limit_price": 95}, dry_run=False)

    assert run.status == RunStatus.FAILED and "kill switch" in run.error
    assert [o["lmt_price"] for o in open_console_orders(paper_gateway)] == [90]


def test_a_modify_of_an_order_that_is_not_working_says_so(paper_gateway, console_worker, trading_enabled):
    run = submit_and_wait("modify_order", {"order": 999, "limit_price": 95}, dry_run=False)

    assert run.status == RunStatus.FAILED and run.error == "order 999 is not a working order of this console"


def test_cancel_by_the_consoles_order_id_cancels_it_at_the_gateway(paper_gateway, console_worker, trading_enabled):
    row = resting_buy(paper_gateway)

    run = submit_and_wait("cancel_order", {"order": row.pk}, dry_run=False)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert open_console_orders(paper_gateway) == []
    assert run.result["order_id"] == row.order_id and run.result["status"] == "Cancelled"
    wait_until(lambda: Order.objects.get(pk=row.pk).status == OrderStatus.CANCELLED, what="the row cancelled")


def test_cancel_by_ib_order_id_still_works(paper_gateway, console_worker, trading_enabled):
    row = resting_buy(paper_gateway)

    run = submit_and_wait("cancel_order", {"orderId": row.order_id}, dry_run=False)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert open_console_orders(paper_gateway) == []
