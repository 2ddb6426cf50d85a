"""The real processes: runintent from a shell through django-q2 to the worker; a worker killed mid-run."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import redis_purge_test_keys
from tests.harness import WorkerThread, subprocess_env, wait_until
from tests.intents.conftest import gateway_positions
from trading.config import config_update
from trading.intents.executor import IntentExecutor
from trading.intents.runs import run_submit
from trading.models import ConfigScope, IntentRun, RunSource, RunStatus, WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[2]
FILES = Path(__file__).resolve().parent / "files"
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def start(*args, env=None):
    return subprocess.Popen(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env or subprocess_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip


def stop(process, sig=signal.SIGTERM):
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_runintent_close_all_from_a_shell_goes_through_qcluster_and_the_worker(paper_gateway, redis_url, tmp_path):
    from django_q.models import Task

    paper_gateway.external_trade("GLD", 6)
    # The run goes CLI → django-q2 task → worker; the q2 task's success (asserted below) mirrors the run's.
    worker = WorkerThread(port=paper_gateway.port, var_dir=tmp_path, handler_paths=[], extensions=[IntentExecutor(sweep_interval=3)])
    worker.start().wait_connected()
    wait_until(lambda: WorkerHeartbeat.objects.filter(connected=True).exists(), what="heartbeat")
    redis_purge_test_keys()  # earlier tests' tasks (queued with no cluster running) are not this test's
    cluster = start("qcluster")
    try:
        result = subprocess.run(
            [sys.executable, "manage.py", "runintent", "close_all", "--live", "--wait", "60"],
            cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=90,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr + _output(cluster)
        run = IntentRun.objects.get()
        assert f"run #{run.pk} close_all for DU1234567: succeeded" in result.stdout  # the gateway's one account
        assert gateway_positions(paper_gateway) == {}
        wait_until(lambda: Task.objects.filter(name=f"intent-run-{run.pk}", success=True).exists(), timeout=60,
                   what="the q2 task's success")  # fmt: skip
    finally:
        stop(cluster)
        worker.stop()


def _output(process) -> str:
    stop(process)
    return "\n--- qcluster ---\n" + (process.stdout.read() or "")[-4000:]


def test_runintent_reports_a_failure_with_a_non_zero_exit(paper_gateway, redis_url, tmp_path):
    worker = WorkerThread(port=paper_gateway.port, var_dir=tmp_path, handler_paths=[], extensions=[IntentExecutor(sweep_interval=0.1)])
    worker.start().wait_connected()
    wait_until(lambda: WorkerHeartbeat.objects.filter(connected=True).exists(), what="heartbeat")
    try:
        result = subprocess.run(
            [sys.executable, "manage.py", "runintent", "cancel_order", "--param", "orderId=99999", "--live"],
            cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        worker.stop()
    assert result.returncode == 5, result.stdout + result.stderr
    assert "reason: order 99999 is not an open order of this console" in result.stdout


def test_a_worker_killed_mid_run_leaves_it_interrupted_with_its_orders_found(paper_gateway, redis_url, tmp_path):
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True})
    paper_gateway.set_price("IWM", 200.0)
    env = subprocess_env(INTENT_PATHS=str(FILES))
    worker = start("ibworker", "--port", str(paper_gateway.port), "--heartbeat-interval", "0.5", env=env)
    try:
        wait_until(lambda: WorkerHeartbeat.objects.filter(connected=True).exists(), timeout=30, what="heartbeat")
        from trading.intents.registry import _import_user_file

        _import_user_file(FILES / "slow_resting_order.py")  # so this process can validate the params too
        run, _ = run_submit(intent="test_slow_resting_order", dry_run=False, source=RunSource.CLI, idempotency_key="crash-1")
        wait_until(lambda: len(paper_gateway.open_orders()) == 1, timeout=30, what="the run's order at the gateway")
        wait_until(lambda: IntentRun.objects.get(pk=run.pk).status == RunStatus.RUNNING, what="the run to be running")
    finally:
        stop(worker, signal.SIGKILL)

    restarted = WorkerThread(port=paper_gateway.port, var_dir=tmp_path, handler_paths=[], extensions=[IntentExecutor(sweep_interval=0.1)])
    restarted.start().wait_connected()
    try:
        wait_until(lambda: IntentRun.objects.get(pk=run.pk).status == RunStatus.INTERRUPTED, what="the run marked interrupted")
        run.refresh_from_db()
        orders = run.result["orders"]
        assert len(orders) == 1 and orders[0]["order_ref"] == f"ibc:spy_macd_vixy/{run.pk}" and orders[0]["perm_id"] > 0
        again, created = run_submit(intent="test_slow_resting_order", dry_run=False, source=RunSource.CLI, idempotency_key="crash-1")
        assert (again.pk, created) == (run.pk, False)
        assert len(paper_gateway.orders()) == 1  # nothing placed twice
    finally:
        restarted.stop()
