"""Drill: a standby `manage.py ibworker --standby` takes over from an owner that dies or is paused.

Owner and standby are real processes, each with a var dir of its own (as on two hosts: they share only
the database and Redis). The paper gateway acknowledges orders at once and fills them `fill_delay`
seconds later, so close_all is running, its orders at the gateway and not yet filled, when the owner
goes: killed (SIGKILL of its process group), or paused (SIGSTOP) past its lease's ttl and resumed
(SIGCONT) once the standby took over — the case the fencing token exists for.
"""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from tests.drills.conftest import assert_ledger_matches_gateway
from tests.drills.test_worker_killed_mid_run import POSITIONS, run_orders_at_gateway
from tests.harness import subprocess_env, wait_until
from trading.intents.runs import run_submit
from trading.models import ActivityEntry, Fill, IntentRun, RunSource, RunStatus, WorkerHeartbeat, WorkerLease
from trading.worker.service import EXIT_LEASE_LOST

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.drill]

TAKEOVER_DEADLINE = 15.0  # seconds from the owner's death to the standby connected (issue #17)


class Worker:
    """One `manage.py ibworker` process (heartbeat 0.5 s: a lease ttl of 3 s) with its own var dir and log."""

    def __init__(self, port: int | None, var_dir: Path, *args: str):
        """`port`: the gateway's (the default connection); None with `--connection NAME` in args (its row has it)."""
        var_dir.mkdir()
        self.var_dir, self.log = var_dir, var_dir / "ibworker.log"
        target = ["--port", str(port)] if port is not None else []
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "ibworker", *target, "--heartbeat-interval", "0.5", *args],
                cwd=ROOT, env=subprocess_env(CONSOLE_VAR_DIR=str(var_dir)), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.pid = self.process.pid

    def signal(self, sig: int) -> None:
        os.killpg(self.pid, sig)  # the whole process group: host loss as far as this worker can tell

    def kill(self) -> None:
        if self.process.poll() is None:
            self.signal(signal.SIGCONT)  # a stopped process dies of SIGKILL too, but reap it promptly
            self.signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def lines(self, pattern: str) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if re.search(pattern, line)]

    def connected(self) -> bool:
        return WorkerHeartbeat.objects.filter(pid=self.pid, connected=True).exists()

    def dead_letters(self) -> list[dict]:
        path = self.var_dir / "recorder-dead-letters.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def workers(paper_gateway, redis_url, tmp_path):
    """Start the owner, wait until it is connected, then a standby, and wait until it says it waits."""
    started: list[Worker] = []

    def start() -> tuple[Worker, Worker]:
        owner = Worker(paper_gateway.port, tmp_path / "owner")
        started.append(owner)
        wait_until(owner.connected, timeout=30, what="the owner's connected heartbeat")
        standby = Worker(paper_gateway.port, tmp_path / "standby", "--standby")
        started.append(standby)
        wait_until(lambda: standby.lines("waiting to take over"), timeout=30, what="the standby's waiting line")
        return owner, standby

    yield start
    for worker in started:
        worker.kill()


def close_all_with_orders_at_the_gateway(gateway) -> IntentRun:
    """Positions to flatten, then close_all; returns once its orders are at the gateway, unfilled, the run running."""
    for symbol, quantity in POSITIONS.items():
        gateway.external_trade(symbol, quantity)
    run, _ = run_submit(intent="close_all", params={}, dry_run=False, source=RunSource.CLI, idempotency_key="flatten")
    wait_until(lambda: len(run_orders_at_gateway(gateway, run.pk)) == len(POSITIONS), what="close_all's orders at the gateway")
    run.refresh_from_db()
    assert (run.status, run.lease_token) == (RunStatus.RUNNING, 1)
    perm_ids = {o["perm_id"] for o in run_orders_at_gateway(gateway, run.pk)}
    assert not any(e["perm_id"] in perm_ids for e in gateway.executions()), "filled before the owner went"
    return run


def assert_the_run_is_interrupted_and_every_fill_recorded_once(gateway, run: IntentRun) -> None:
    wait_until(lambda: IntentRun.objects.get(pk=run.pk).status == RunStatus.INTERRUPTED, what="the run marked interrupted")
    wait_until(lambda: gateway.positions() == {}, what="the gateway to flatten everything")
    executions = {e["exec_id"] for e in gateway.executions()}
    wait_until(lambda: set(Fill.objects.values_list("exec_id", flat=True)) == executions, what="every fill recorded")
    assert_ledger_matches_gateway(gateway)
    run.refresh_from_db()
    at_gateway = {o["perm_id"] for o in run_orders_at_gateway(gateway, run.pk)}
    assert {o["perm_id"] for o in run.result["orders"]} == at_gateway, "the run's orders are found again by orderRef"


def pause_between_transactions(worker: Worker) -> None:
    """SIGSTOP the worker at a moment it holds no write lock. It writes every few milliseconds; paused
    inside a transaction it would keep SQLite's write lock (PostgreSQL: the lease row's lock, taken by
    every recorder batch) until it resumes, and the takeover would wait for it (docs/DEPLOY.md)."""
    for _ in range(50):
        worker.signal(signal.SIGSTOP)
        if lease_writable():
            return
        worker.signal(signal.SIGCONT)
        wait_until(lease_writable, what="the worker to end its transaction")  # running, before the next try
    raise AssertionError("the worker was inside a transaction at every try")


def lease_writable() -> bool:
    if connection.vendor == "sqlite":
        probe = sqlite3.connect(connection.settings_dict["NAME"], timeout=0.2)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            probe.close()
    try:
        with transaction.atomic():
            list(WorkerLease.objects.select_for_update(nowait=True).filter(client_id=1))
        return True
    except DatabaseError:
        return False


def assert_one_line_each(standby: Worker) -> None:
    assert len(standby.lines("standby: .*waiting to take over")) == 1
    assert len(standby.lines(r"standby: took over client id 1 \(lease token 2\)")) == 1


@pytest.mark.paper_gateway(fill_delay=2.0)
def test_a_standby_takes_over_a_killed_owner_within_15s_interrupts_its_run_and_records_every_fill_once(paper_gateway, workers):
    owner, standby = workers()
    run = close_all_with_orders_at_the_gateway(paper_gateway)

    owner.kill()

    wait_until(standby.connected, timeout=TAKEOVER_DEADLINE, what="the standby connected and reconciled")
    lease = WorkerLease.objects.get(client_id=1)
    assert (lease.token, lease.owner.endswith(f":{standby.pid}")) == (2, True)
    assert_the_run_is_interrupted_and_every_fill_recorded_once(paper_gateway, run)
    assert_one_line_each(standby)
    later, _ = run_submit(intent="summary", dry_run=False, source=RunSource.CLI)
    wait_until(lambda: IntentRun.objects.get(pk=later.pk).status == RunStatus.SUCCEEDED, what="the standby to run intents")
    assert IntentRun.objects.get(pk=later.pk).lease_token == 2


@pytest.mark.paper_gateway(fill_delay=2.0)
def test_an_owner_paused_past_its_ttl_and_resumed_after_the_takeover_can_neither_record_nor_claim_and_exits_4(
    paper_gateway, workers
):
    owner, standby = workers()
    run = close_all_with_orders_at_the_gateway(paper_gateway)

    pause_between_transactions(owner)  # its socket stays open: the fills arrive there while it is paused
    queued, _ = run_submit(
        intent="summary", dry_run=False, source=RunSource.CLI
    )  # its hand-off may sit in the paused owner's socket
    wait_until(
        lambda: WorkerLease.objects.get(client_id=1).token == 2, timeout=TAKEOVER_DEADLINE, what="the standby to take the lease"
    )
    wait_until(lambda: len(paper_gateway.executions()) == 2 * len(POSITIONS), what="the gateway to fill close_all's orders")
    owner.signal(signal.SIGCONT)

    assert owner.process.wait(timeout=15) == EXIT_LEASE_LOST
    assert owner.lines("lease token 1 is no longer current .*stopping without writing anything more")
    run_perm_ids = {o["perm_id"] for o in run_orders_at_gateway(paper_gateway, run.pk)}
    run_fills = {e["exec_id"] for e in paper_gateway.executions() if e["perm_id"] in run_perm_ids}
    kept = [letter for letter in owner.dead_letters() if letter["op"] == "fill_and_ledger"]
    assert {letter["kwargs"]["snap"]["exec_id"] for letter in kept} == run_fills, "the fills that reached it were not written"
    assert owner.lines("lease token 1 is no longer current.*retrying"), "but refused by the token (and kept on disk)"
    wait_until(
        standby.connected, timeout=TAKEOVER_DEADLINE, what="the standby connected once the old owner let go of client id 1"
    )
    assert_the_run_is_interrupted_and_every_fill_recorded_once(paper_gateway, run)
    wait_until(lambda: IntentRun.objects.get(pk=queued.pk).status == RunStatus.SUCCEEDED, what="the queued run to run")
    assert IntentRun.objects.get(pk=queued.pk).lease_token == 2, "claimed by the new owner only"
    assert not ActivityEntry.objects.filter(message="IB worker stopped").exists(), "the old owner's last words were refused"
    assert not ActivityEntry.objects.filter(run=run, payload__has_key="body_status").exists(), "nor its run's outcome"
    assert WorkerHeartbeat.objects.get().pid == standby.pid
    assert_one_line_each(standby)
