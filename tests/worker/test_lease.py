"""The owner lease (trading/worker/lease.py): one live owner per client id, a token that only grows,
and the run claims and orphan sweeps it fences."""

import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from trading.intents.runs import run_claim, run_finish, run_interrupt_orphans
from trading.models import ActivityEntry, IntentRun, RunSource, RunStatus, WorkerLease
from trading.worker.lease import LeaseHold, LeaseLost, lease_acquire, lease_release, lease_renew
from trading.worker.store import batch_scope

pytestmark = pytest.mark.django_db

ALICE, BOB = "alice-host:1", "bob-host:2"  # owners on other hosts: only the ttl can free their lease


def expire(client_id: int = 1) -> None:
    WorkerLease.objects.filter(client_id=client_id).update(expires_at=timezone.now() - timedelta(seconds=1))


def queued_run(**fields) -> IntentRun:
    deadline = timezone.now() + timedelta(seconds=60)
    return IntentRun.objects.create(intent="summary", source=RunSource.CLI, start_deadline=deadline, **fields)


def test_it_gives_the_first_owner_token_1_and_refuses_a_second_while_the_first_is_live():
    assert lease_acquire(client_id=1, owner=ALICE, ttl=30) == 1
    assert lease_acquire(client_id=1, owner=BOB, ttl=30) is None
    assert WorkerLease.objects.get(client_id=1).owner == ALICE
    assert lease_acquire(client_id=2, owner=BOB, ttl=30) == 1, "another client id is another lease"


def test_it_hands_an_expired_lease_to_the_next_owner_with_a_larger_token_and_fences_the_old_one():
    lease_acquire(client_id=1, owner=ALICE, ttl=30)
    expire()
    assert lease_acquire(client_id=1, owner=BOB, ttl=30) == 2
    assert not lease_renew(client_id=1, token=1, ttl=30), "the old owner has lost it"
    assert not lease_release(client_id=1, token=1), "and cannot give away what is not its own"
    assert lease_renew(client_id=1, token=2, ttl=30)


def test_it_lets_an_owner_that_renews_late_keep_its_lease_while_nobody_took_it_over():
    lease_acquire(client_id=1, owner=ALICE, ttl=30)
    expire()
    assert lease_renew(client_id=1, token=1, ttl=30)
    assert lease_acquire(client_id=1, owner=BOB, ttl=30) is None


def test_it_hands_a_released_lease_on_at_once_and_the_token_still_grows():
    lease_acquire(client_id=1, owner=ALICE, ttl=30)
    assert lease_release(client_id=1, token=1)
    assert lease_acquire(client_id=1, owner=ALICE, ttl=30) == 2


def test_it_takes_over_at_once_from_an_owner_whose_process_died_on_this_host():
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lease_acquire(client_id=1, owner=f"{socket.gethostname()}:{dead.stdout.strip()}", ttl=30)
    assert lease_acquire(client_id=1, owner=BOB, ttl=30) == 2
    lease_acquire(client_id=3, owner=f"{socket.gethostname()}:{os.getpid()}", ttl=30)
    assert lease_acquire(client_id=3, owner=BOB, ttl=30) is None, "a live process on this host keeps it"


def test_a_run_is_claimed_only_with_the_live_token_and_carries_it():
    lease_acquire(client_id=1, owner=ALICE, ttl=30)
    expire()
    lease_acquire(client_id=1, owner=BOB, ttl=30)
    run = queued_run()

    assert not run_claim(run.pk, client_id=1, token=1), "a fenced-out owner claims nothing"
    assert IntentRun.objects.get(pk=run.pk).status == RunStatus.QUEUED
    assert run_claim(run.pk, client_id=1, token=2)
    run.refresh_from_db()
    assert (run.status, run.lease_token) == (RunStatus.RUNNING, 2)


def test_a_run_is_not_claimed_while_the_lease_has_expired():
    lease_acquire(client_id=1, owner=ALICE, ttl=30)
    expire()
    run = queued_run()
    assert not run_claim(run.pk, client_id=1, token=1)
    assert IntentRun.objects.get(pk=run.pk).status == RunStatus.QUEUED, "it waits for a live owner"


def test_the_orphan_sweep_interrupts_only_runs_whose_worker_is_gone():
    lease_acquire(client_id=1, owner=ALICE, ttl=30)
    expire()
    lease_acquire(client_id=1, owner=BOB, ttl=30)
    mine = queued_run(status=RunStatus.RUNNING, lease_token=2)
    dead_owners = queued_run(status=RunStatus.RUNNING, lease_token=1)
    before_leases = queued_run(status=RunStatus.RUNNING)

    swept = run_interrupt_orphans(token=2)

    assert {run.pk for run in swept} == {dead_owners.pk, before_leases.pk}
    assert IntentRun.objects.get(pk=mine.pk).status == RunStatus.RUNNING
    assert IntentRun.objects.get(pk=dead_owners.pk).status == RunStatus.INTERRUPTED


def test_a_run_already_final_is_never_reported_succeeded_nor_changed():
    run = queued_run(status=RunStatus.INTERRUPTED, error="the IB worker stopped while this run was executing")

    finished = run_finish(run.pk, status=RunStatus.SUCCEEDED, result={"orders": []})

    assert finished.status == RunStatus.INTERRUPTED
    messages = list(ActivityEntry.objects.filter(run=run).values_list("message", flat=True))
    assert not any(message.endswith("succeeded") for message in messages), messages
    assert any("after the run was already interrupted; it stays interrupted" in message for message in messages)


def test_recording_with_a_token_that_is_no_longer_current_is_refused():
    lease_acquire(client_id=1, owner=ALICE, ttl=30)
    old, new = LeaseHold(1, ttl=30, token=1), LeaseHold(1, ttl=30, token=2)
    with transaction.atomic(), batch_scope([], lease=old):
        pass  # the current token records
    expire()
    lease_acquire(client_id=1, owner=BOB, ttl=30)
    with pytest.raises(LeaseLost, match="lease token 1 is no longer current"), transaction.atomic(), batch_scope([], lease=old):
        pass
    assert old.lost
    assert old.lost_message == (  # what the worker's last words say, whichever of its threads found the loss
        "client id 1: lease token 1 is no longer current (taken over by bob-host:2, token 2); this worker has lost the lease"
    )
    with transaction.atomic(), batch_scope([], lease=new):
        pass
