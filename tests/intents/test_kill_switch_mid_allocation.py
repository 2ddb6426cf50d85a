"""A switch engaged while an allocation is placing its orders stops the orders after it.

The allocation's orders go as one batch, and the order gateway reads the switches again right before
each order goes (never a copy from the batch's start), so a person who hits the kill switch (or the
soft stop) between two orders of one run stops the second. The flip happens exactly there: inside
the worker, when ib_insync announces the first order (newOrderEvent fires within placeOrder, before
the batch goes on to the next order).
"""

import threading

import pytest

from tests.harness import wait_until
from tests.intents.conftest import submit_and_wait
from tests.intents.factories import switches_set, target_make
from trading.config import switch_set
from trading.models import Order, OrderStatus, RunStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def allocate_engaging_after_the_first_order(console_worker, switch: str):
    """Run an allocation of two orders; `switch` is engaged by a person as the first order goes out."""
    switches_set(trading_enabled=True, dry_run_default=False, soft_stop=False)
    target_make("testsignalgenerator", {"SPY": 5, "QQQ": 5})
    ib = console_worker.worker.ib
    engaged = []

    def engage_on_first_order(trade) -> None:
        if engaged:
            return
        # The worker's loop thread may not use the ORM; a person's click is another thread anyway.
        person = threading.Thread(target=lambda: engaged.extend(switch_set(switch=switch, on=True, source="test")))
        person.start()
        person.join(10)

    ib.newOrderEvent += engage_on_first_order
    try:
        run = submit_and_wait("allocation", timeout=60)
    finally:
        ib.newOrderEvent -= engage_on_first_order
    assert engaged, f"the {switch} was engaged after the first order"
    return run


def test_a_kill_switch_engaged_between_two_orders_stops_the_second(paper_gateway, console_worker):
    run = allocate_engaging_after_the_first_order(console_worker, "kill_switch")

    sent = [o for o in paper_gateway.orders() if o["client_id"] == 1]
    assert len(sent) == 1, sent
    assert run.status != RunStatus.SUCCEEDED
    assert "kill switch" in run.error
    refused = Order.objects.filter(run=run, status=OrderStatus.REFUSED)
    assert refused.count() == 1 and "kill switch" in refused.get().last_error
    wait_until(lambda: Order.objects.filter(run=run, status=OrderStatus.FILLED).count() == 1, what="the first order filled")


def test_a_soft_stop_engaged_between_two_orders_refuses_the_next_one_that_adds(paper_gateway, console_worker):
    run = allocate_engaging_after_the_first_order(console_worker, "soft_stop")

    assert len([o for o in paper_gateway.orders() if o["client_id"] == 1]) == 1
    assert run.status != RunStatus.SUCCEEDED and "soft stop is on" in run.error
    refused = Order.objects.get(run=run, status=OrderStatus.REFUSED)
    assert "soft stop is on" in refused.last_error and refused.order_id == 0
