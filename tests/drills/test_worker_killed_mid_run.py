"""Drill: the worker process is SIGKILLed while close_all is flattening; the restart finds everything.

The paper gateway acknowledges orders at once but fills them `fill_delay` seconds later, so the run is
reliably in the middle of its work (orders at the gateway, not yet filled) when the worker dies.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.drills.conftest import assert_ledger_matches_gateway, heartbeat_connected
from tests.harness import subprocess_env, wait_until
from trading.intents.runs import run_submit
from trading.models import IntentRun, Order, RunSource, RunStatus

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
    return [o for o in gateway.orders() if o["order_ref"] == f"ibc:close_all/{run_id}"]


@pytest.mark.paper_gateway(fill_delay=2.0)
def test_a_worker_killed_mid_close_all_leaves_the_run_interrupted_with_its_orders_found_and_never_resent(
    paper_gateway, redis_url, start_drill_worker
):
    for symbol, quantity in POSITIONS.items():
        paper_gateway.external_trade(symbol, quantity)
    worker = start_worker_process(paper_gateway.port)
    try:
        wait_until(heartbeat_connected, timeout=30, what="the worker process's connected heartbeat")
        run, _ = run_submit(intent="close_all", dry_run=False, source=RunSource.CLI, idempotency_key="flatten-1")
        wait_until(
            lambda: len(run_orders_at_gateway(paper_gateway, run.pk)) == len(POSITIONS), what="close_all's orders at the gateway"
        )
        assert IntentRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
        assert not paper_gateway.executions() or all(
            e["order_ref"] != f"ibc:close_all/{run.pk}" for e in paper_gateway.executions()
        )
    finally:
        kill(worker)

    # The gateway fills the orders while no worker is connected.
    wait_until(lambda: paper_gateway.positions() == {}, what="the gateway to fill the orphaned orders")
    restarted = start_drill_worker()
    wait_until(lambda: IntentRun.objects.get(pk=run.pk).status == RunStatus.INTERRUPTED, what="the run marked interrupted")
    restarted.flush()

    run.refresh_from_db()
    at_gateway = {o["perm_id"]: o for o in run_orders_at_gateway(paper_gateway, run.pk)}
    found = {o["perm_id"]: o for o in run.result["orders"]}
    assert set(found) == set(at_gateway), "every order of the run is found again by its orderRef"
    assert all(o["order_ref"] == f"ibc:close_all/{run.pk}" for o in found.values())
    assert set(Order.objects.filter(run=run).values_list("perm_id", flat=True)) == set(at_gateway)
    assert_ledger_matches_gateway(paper_gateway)  # fills made while the worker was dead: recorded once

    # The caller retries with the same key: the same run answers, nothing is sent again.
    orders_before = len(paper_gateway.orders())
    again, created = run_submit(intent="close_all", dry_run=False, source=RunSource.CLI, idempotency_key="flatten-1")
    assert (again.pk, created, again.status) == (run.pk, False, RunStatus.INTERRUPTED)
    # A later run goes through the same executor: once it is done, a resend would have happened already.
    later, _ = run_submit(intent="summary", dry_run=False, source=RunSource.CLI)
    wait_until(lambda: IntentRun.objects.get(pk=later.pk).status == RunStatus.SUCCEEDED, what="a later run to finish")
    assert len(paper_gateway.orders()) == orders_before
