"""Drill: the worker process is SIGKILLed in the middle of a run that places orders; the restart finds everything.

The paper gateway acknowledges orders at once but fills them `fill_delay` seconds later, so the orders
are at the gateway, not yet filled, when the worker dies. close_all waits for its fills, so it is
still running then. The orchestrator does not wait (its allocation step places the orders and the run
ends milliseconds later), so that drill makes the gateway go slow once the run's second order is in:
the run then waits for the price of its next order, and is killed while it waits.
"""

import os
import signal
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from tests.drills.conftest import assert_ledger_matches_gateway, heartbeat_connected
from tests.harness import subprocess_env, wait_until
from trading.config import config_update
from trading.intents.context import PRICE_TIMEOUT
from trading.intents.runs import run_submit
from trading.models import ConfigScope, Fill, IntentRun, Order, OrderStatus, RunSource, RunStatus, Strategy, WorkerHeartbeat
from trading.orderref import order_ref_parse

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.drill]

POSITIONS = {"SPY": 5, "QQQ": -3, "IWM": 7}


def start_worker_process(port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "ibworker", "--port", str(port), "--heartbeat-interval", "0.5"],
        cwd=ROOT, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def run_orders_at_gateway(gateway, run_id: int) -> list[dict]:
    """The gateway's orders whose orderRef names this run, whichever owner (strategy or intent) it names."""
    return [o for o in gateway.orders() if (ref := order_ref_parse(o["order_ref"])) and ref.run_id == run_id]


def submit_and_kill_the_worker_mid_run(gateway, *, intent: str, params: dict, key: str, orders: int) -> IntentRun:
    """Start `manage.py ibworker`, submit the run, SIGKILL the worker once `orders` of its orders are at the gateway."""
    worker = start_worker_process(gateway.port)
    try:
        wait_until(heartbeat_connected, timeout=30, what="the worker process's connected heartbeat")
        run, _ = run_submit(intent=intent, params=params, dry_run=False, source=RunSource.CLI, idempotency_key=key)
        wait_until(
            lambda: len(run_orders_at_gateway(gateway, run.pk)) == orders, timeout=30, what=f"{intent}'s orders at the gateway"
        )
        assert IntentRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
        perm_ids = {o["perm_id"] for o in run_orders_at_gateway(gateway, run.pk)}
        assert not any(e["perm_id"] in perm_ids for e in gateway.executions()), "filled before the kill"
    finally:
        kill(worker)
    return run


def restart_and_find_the_run_interrupted(gateway, run: IntentRun, start_drill_worker) -> dict[int, dict]:
    """Let the gateway fill the orphaned orders, restart the worker, check every order and fill is found
    again through its orderRef, once; returns the run's gateway orders by perm id."""
    wait_until(
        lambda: all(o["status"] == "Filled" for o in run_orders_at_gateway(gateway, run.pk)),
        what="the gateway to fill the orphaned orders",
    )
    restarted = start_drill_worker()
    wait_until(lambda: IntentRun.objects.get(pk=run.pk).status == RunStatus.INTERRUPTED, what="the run marked interrupted")
    restarted.flush()

    run.refresh_from_db()
    at_gateway = {o["perm_id"]: o for o in run_orders_at_gateway(gateway, run.pk)}
    found = {o["perm_id"]: o for o in run.result["orders"] if o["perm_id"]}
    assert set(found) == set(at_gateway), "every order of the run is found again by its orderRef"
    assert all(order_ref_parse(o["order_ref"]).run_id == run.pk for o in run.result["orders"])
    rows = Counter(Order.objects.filter(run=run).exclude(perm_id=0).values_list("perm_id", flat=True))
    assert rows == Counter(list(at_gateway)), "one row per gateway order, re-attached to the run with IB's perm id"
    # A batch writes every row before its first order goes: a row of an order the kill stopped before
    # it went out never reached IB. It stays open for the phantom sweeper (test_phantom_orders.py) to close
    # out as UnknownToIB, and its id is nowhere at the gateway.
    sent_ids = {o["order_id"] for o in gateway.orders()}
    for row in Order.objects.filter(run=run, perm_id=0):
        assert row.status == OrderStatus.PENDING_SUBMIT and row.order_id not in sent_ids, (row.status, row.order_id)
    assert_ledger_matches_gateway(gateway)  # fills made while the worker was dead: recorded once
    executions = sorted(e["exec_id"] for e in gateway.executions() if e["perm_id"] in at_gateway)
    assert executions and sorted(Fill.objects.filter(run=run).values_list("exec_id", flat=True)) == executions
    return at_gateway


def assert_a_retry_sends_nothing(gateway, run: IntentRun, params: dict) -> None:
    """The caller retries with the same key: the same run answers, and nothing reaches the gateway again."""
    orders_before = len(gateway.orders())
    again, created = run_submit(
        intent=run.intent, params=params, dry_run=False, source=RunSource.CLI, idempotency_key=run.idempotency_key
    )
    assert (again.pk, created, again.status) == (run.pk, False, RunStatus.INTERRUPTED)
    retried_at = timezone.now()
    wait_until(
        lambda: WorkerHeartbeat.objects.filter(updated_at__gt=retried_at, connected=True).exists(),
        what="a worker heartbeat after the retry",
    )
    # A later run goes through the same executor: once it is done, a resend would have happened already.
    later, _ = run_submit(intent="summary", dry_run=False, source=RunSource.CLI)
    wait_until(lambda: IntentRun.objects.get(pk=later.pk).status == RunStatus.SUCCEEDED, what="a later run to finish")
    assert len(gateway.orders()) == orders_before


def stall_after_console_orders(gateway, count: int) -> None:
    """Once `count` orders tagged by the console are in, the gateway defers every request (its reply-delay
    fault) for longer than a run waits for a price (PRICE_TIMEOUT): the run is stuck mid-way, placing."""
    paper = gateway.gateway
    place = paper.broker.place
    stalled = False

    def place_then_stall(*args) -> None:  # on the gateway's loop, as the order is handled
        nonlocal stalled
        place(*args)
        if not stalled and sum(1 for o in paper.broker.orders.values() if order_ref_parse(o.order_ref)) >= count:
            stalled = True
            paper.set_reply_delay(PRICE_TIMEOUT * 10)

    paper.broker.place = place_then_stall


@pytest.mark.paper_gateway(fill_delay=2.0)
def test_a_worker_killed_mid_close_all_leaves_the_run_interrupted_with_its_orders_found_and_never_resent(
    paper_gateway, redis_url, start_drill_worker
):
    for symbol, quantity in POSITIONS.items():
        paper_gateway.external_trade(symbol, quantity)

    run = submit_and_kill_the_worker_mid_run(paper_gateway, intent="close_all", params={}, key="flatten-1", orders=len(POSITIONS))
    wait_until(lambda: paper_gateway.positions() == {}, what="the gateway to flatten everything")
    found = restart_and_find_the_run_interrupted(paper_gateway, run, start_drill_worker)

    assert {o["order_ref"] for o in found.values()} == {f"ibc:close_all/{run.pk}"}
    assert_a_retry_sends_nothing(paper_gateway, run, {})


@pytest.mark.paper_gateway(fill_delay=2.0)
def test_a_worker_killed_mid_orchestrator_leaves_the_run_interrupted_with_its_orders_found_and_never_resent(
    paper_gateway, redis_url, start_drill_worker, trading_on
):
    # The allocation step will trade testsignalgenerator's SPY target (owner: the strategy) and flatten
    # the positions no strategy holds (owner: allocation), as one batch: every row first, then the
    # orders one after the other, SPY first.
    config_update(scope=ConfigScope.COMMON, changes={"flatten_unowned_positions": True})
    Strategy.objects.filter(strategy_id="testsignalgenerator").update(exposure=Decimal("0.05"))  # inside the limits
    paper_gateway.external_trade("IWM", 6)
    paper_gateway.external_trade("QQQ", 4)
    stall_after_console_orders(paper_gateway, 2)
    params = {"strategies": ["testsignalgenerator"]}

    run = submit_and_kill_the_worker_mid_run(paper_gateway, intent="orchestrator", params=params, key="orchestrate-1", orders=2)
    paper_gateway.set_reply_delay(0)
    found = restart_and_find_the_run_interrupted(paper_gateway, run, start_drill_worker)

    assert {order_ref_parse(o["order_ref"]).owner for o in found.values()} == {"testsignalgenerator", "allocation"}
    assert paper_gateway.positions()["QQQ"] == 4, "the order the run never got to place is not placed later"
    assert_a_retry_sends_nothing(paper_gateway, run, params)
