"""Drill: the gateway restarts ten times while orders rest and fill; nothing is lost or placed twice."""

import pytest

from tests.drills.conftest import (
    assert_ledger_matches_gateway,
    filled_quantities_wrong,
    heartbeat_connected,
    submit,
    submit_and_wait,
)
from tests.harness import wait_until
from trading.models import IntentRun, Order, RunStatus

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.drill]

RESTARTS = 10
SYMBOLS = ("SPY", "QQQ", "IWM", "TLT", "GLD")


def rests(symbol: str) -> bool:
    return Order.objects.filter(symbol=symbol, status="Submitted").exists()


def test_every_fill_is_recorded_once_and_no_order_twice_through_ten_gateway_restarts(paper_gateway, drill_worker):
    paper_gateway.set_tick_interval(0)  # prices move only when the drill moves them
    for symbol in SYMBOLS:
        paper_gateway.set_price(symbol, 100.0)
    submitted = {}  # idempotency key -> params
    for cycle in range(RESTARTS):
        symbol = SYMBOLS[cycle % len(SYMBOLS)]
        # Resting on both sides: the buy fills while the gateway is down, the sell once it is back.
        runs = {
            f"storm-{cycle}-buy": {"symbols": [symbol], "action": "BUY", "quantity": 2, "price": 99.0},
            f"storm-{cycle}-sell": {"symbols": [symbol], "action": "SELL", "quantity": 1, "price": 101.0},
            f"storm-{cycle}-market": {"symbols": [symbol], "quantity": 1},  # fills at once
        }
        wait_until(heartbeat_connected, what="the heartbeat to say connected")  # the API refuses runs until then
        for key, params in runs.items():
            submit_and_wait(params, key=key)
        submitted.update(runs)
        wait_until(lambda s=symbol: rests(s), what="the resting orders to be recorded")

        paper_gateway.restart(downtime=0.3)
        wait_until(lambda: not drill_worker.worker.synced, what=f"the worker to see restart {cycle + 1}")
        paper_gateway.set_price(symbol, 98.5)  # the resting buy fills while the worker is away

        wait_until(
            lambda n=cycle: drill_worker.worker.connects == n + 2 and drill_worker.worker.synced,
            timeout=30, what=f"the worker to reconnect by itself after restart {cycle + 1}",
        )  # fmt: skip
        paper_gateway.set_price(symbol, 101.5)  # the resting sell fills now
        paper_gateway.set_price(symbol, 100.0)

    # The same idempotency keys again, after all those reconnects: the same runs, nothing sent.
    orders_before = len(paper_gateway.orders())
    for key, params in submitted.items():
        assert submit(params, key=key).pk == IntentRun.objects.get(idempotency_key=key).pk
    wait_until(lambda: all(o["status"] == "Filled" for o in paper_gateway.orders()), what="every order filled")
    drill_worker.flush()

    assert len(paper_gateway.orders()) == orders_before
    assert IntentRun.objects.filter(status=RunStatus.SUCCEEDED).count() == 3 * RESTARTS
    assert len(paper_gateway.executions()) == 3 * RESTARTS
    assert_ledger_matches_gateway(paper_gateway)
    assert filled_quantities_wrong(paper_gateway) == []
    assert drill_worker.worker.connects == RESTARTS + 1


def test_an_order_that_filled_while_the_gateway_was_down_keeps_its_filled_quantity(paper_gateway, drill_worker):
    paper_gateway.set_tick_interval(0)
    paper_gateway.set_price("TLT", 100.0)
    submit_and_wait({"symbols": ["TLT"], "action": "BUY", "quantity": 4, "price": 99.0}, key="down-fill")
    wait_until(lambda: rests("TLT"), what="the resting order")
    paper_gateway.restart(downtime=0.3)
    wait_until(lambda: not drill_worker.worker.synced, what="the worker to see the restart")
    paper_gateway.set_price("TLT", 98.5)
    wait_until(lambda: drill_worker.worker.connects == 2 and drill_worker.worker.synced, timeout=30, what="reconnect")
    drill_worker.flush()

    assert_ledger_matches_gateway(paper_gateway)  # the fill itself is recovered exactly once
    assert filled_quantities_wrong(paper_gateway) == []
