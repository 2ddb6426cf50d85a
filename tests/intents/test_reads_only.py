"""An intent that reads only (`reads_only`: `summary`) runs its body first and is claimed with its outcome
in one commit (`run_claim_finish`): one commit less between a request and its answer, and still at most
one recorded outcome, only under the live lease, never for a run past its start deadline.

The gated intent's body waits for the test, so the run is certainly still queued while its body runs."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone
from ib_insync import Stock

from tests.harness import wait_until
from trading.intents import Intent, IntentParams, intent_register
from trading.intents.runs import run_claim_finish, run_submit, run_wait
from trading.models import ActivityEntry, IntentRun, Order, RunSource, RunStatus, WorkerLease
from trading.worker.lease import lease_acquire

GATES: dict[int, asyncio.Event] = {}  # run id → the event its body waits for (on the worker's loop)
BODIES: list[int] = []


@intent_register
class ReadsGated(Intent):
    """Reads only; runs until the test says go."""

    name = "test_reads_gated"
    requires_ib = False
    reads_only = True

    class Params(IntentParams):
        pass

    async def run(self, ctx, params):
        BODIES.append(ctx.run.pk)
        await GATES.setdefault(ctx.run.pk, asyncio.Event()).wait()
        return {"read": True}


@intent_register
class ReadsButOrders(Intent):
    """Says it reads only, then tries to place an order."""

    name = "test_reads_but_orders"
    requires_ib = False
    reads_only = True

    class Params(IntentParams):
        pass

    async def run(self, ctx, params):
        await ctx.orders.place(contract=Stock("SPY", "SMART", "USD"), action="BUY", quantity=1)
        return {}


def submit(intent: str = "test_reads_gated") -> IntentRun:
    run, _ = run_submit(intent=intent, dry_run=False, source=RunSource.API, check_worker=False)
    return run


def outcomes(run: IntentRun) -> list[str]:
    return list(ActivityEntry.objects.filter(run=run).exclude(message__contains="queued").values_list("message", flat=True))


def go(worker, run: IntentRun) -> None:
    wait_until(lambda: run.pk in GATES, what=f"run #{run.pk}'s body to start")
    worker.loop.call_soon_threadsafe(GATES[run.pk].set)


# ----- run_claim_finish on its own ---------------------------------------------------------------


def queued_run(**fields) -> IntentRun:
    return IntentRun.objects.create(
        intent="summary", source=RunSource.API, start_deadline=timezone.now() + timedelta(seconds=60), **fields
    )


def claim_finish(run: IntentRun, *, token: int = 1, started_at=None, connection: str = "default"):
    return run_claim_finish(
        run, started_at=started_at or timezone.now(), client_id=1, token=token, connection=connection,
        status=RunStatus.SUCCEEDED, result={"read": True},
    )  # fmt: skip


@pytest.mark.django_db
def test_it_claims_and_records_the_outcome_in_one_step_once():
    token = lease_acquire(client_id=1, owner="host:1", ttl=30)
    run = queued_run()
    started = timezone.now()

    finished = claim_finish(run, token=token, started_at=started)

    row = IntentRun.objects.get(pk=run.pk)
    assert finished is not None and finished.status == RunStatus.SUCCEEDED
    assert (row.status, row.started_at, row.lease_token, row.result) == (RunStatus.SUCCEEDED, started, token, {"read": True})
    assert row.finished_at >= started
    assert claim_finish(row, token=token) is None, "a second body records nothing"
    assert outcomes(run) == [f"run #{run.pk} summary succeeded"]


@pytest.mark.django_db
def test_a_fenced_out_owner_or_another_connection_records_nothing_and_the_run_stays_queued():
    lease_acquire(client_id=1, owner="host:1", ttl=30)
    WorkerLease.objects.filter(client_id=1).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert lease_acquire(client_id=1, owner="host:2", ttl=30) == 2
    run = queued_run()

    assert claim_finish(run, token=1) is None, "token 1 lost the lease"
    assert claim_finish(run, token=2, connection="desk2") is None, "the run is the default connection's"
    assert IntentRun.objects.get(pk=run.pk).status == RunStatus.QUEUED
    assert outcomes(run) == []
    assert claim_finish(run, token=2) is not None


@pytest.mark.django_db
def test_a_body_started_after_the_start_deadline_records_nothing_and_the_run_expires():
    token = lease_acquire(client_id=1, owner="host:1", ttl=30)
    run = queued_run()
    IntentRun.objects.filter(pk=run.pk).update(start_deadline=timezone.now() - timedelta(seconds=1))

    assert claim_finish(run, token=token) is None
    row = IntentRun.objects.get(pk=run.pk)
    assert row.status == RunStatus.EXPIRED and row.result is None


def test_an_intent_cannot_read_only_and_place_orders():
    class Both(Intent):
        name = "test_reads_and_places"
        reads_only = True
        places_orders = True

    with pytest.raises(ValueError, match="cannot both read only and place orders"):
        intent_register(Both)


# ----- on a real worker --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_its_body_runs_while_the_run_is_queued_and_the_outcome_lands_with_the_claim(console_worker):
    run = submit()
    wait_until(lambda: run.pk in GATES, what="the body to start")
    assert IntentRun.objects.get(pk=run.pk).status == RunStatus.QUEUED, "not claimed before its outcome"

    go(console_worker, run)
    done = run_wait(run.pk, timeout=20)

    assert done.status == RunStatus.SUCCEEDED and done.result == {"read": True, "orders": []}
    assert done.lease_token == console_worker.worker.lease.token
    assert done.started_at <= done.finished_at
    assert BODIES.count(run.pk) == 1
    assert outcomes(run) == [f"run #{run.pk} test_reads_gated succeeded"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_run_recorded_elsewhere_while_its_body_ran_keeps_that_and_the_body_is_dropped(console_worker):
    run = submit()
    wait_until(lambda: run.pk in GATES, what="the body to start")
    IntentRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, lease_token=99, started_at=timezone.now())

    go(console_worker, run)
    wait_until(lambda: run.pk not in console_worker.extensions[0].in_progress, what="the body to end")

    row = IntentRun.objects.get(pk=run.pk)
    assert (row.status, row.lease_token, row.result) == (RunStatus.RUNNING, 99, None)
    assert outcomes(run) == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_intent_that_reads_only_has_no_order_gateway(console_worker):
    run = submit("test_reads_but_orders")

    done = run_wait(run.pk, timeout=20)

    assert done.status == RunStatus.FAILED
    assert "reads only" in done.error and "cannot place" in done.error
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_bodys_reads_skip_the_lease_check_that_its_other_database_work_makes():
    """`ctx.db_read` (summary's fills) reads without the lease query `ctx.db` makes first: of a worker
    fenced out meanwhile, `db` refuses and `db_read` still reads (its outcome's claim is what checks)."""
    from concurrent.futures import ThreadPoolExecutor
    from functools import partial
    from types import SimpleNamespace

    from trading.config import effective_config
    from trading.intents.context import IntentContext
    from trading.worker.lease import LeaseHold, LeaseLost
    from trading.worker.service import IBWorker

    executor = ThreadPoolExecutor(max_workers=1)
    worker = SimpleNamespace(lease=LeaseHold(client_id=1, ttl=30.0, token=1, lost=True), _db_executor=executor)
    worker.db, worker.db_guarded = partial(IBWorker.db, worker), partial(IBWorker.db_guarded, worker)
    run = submit()
    ctx = IntentContext(ib=None, run=run, config=effective_config(), worker=worker)

    def read():
        return IntentRun.objects.filter(pk=run.pk).values_list("status", flat=True).get()

    try:
        assert asyncio.run(ctx.db_read(read)) == RunStatus.QUEUED
        with pytest.raises(LeaseLost):
            asyncio.run(ctx.db(read))
    finally:
        executor.submit(_close_connection).result()
        executor.shutdown()


def _close_connection():
    from django.db import connection

    connection.close()
