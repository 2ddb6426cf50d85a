"""One worker per client id: a second one refuses in one line, a lost lease stops its holder, and a
crashed or cleanly stopped owner's lease goes to the next worker with a larger token."""

import os
import re
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.harness import WorkerThread, subprocess_env, wait_until
from trading.models import ActivityEntry, WorkerHeartbeat, WorkerLease
from trading.worker.health import heartbeat_state
from trading.worker.lease import lease_acquire
from trading.worker.service import EXIT_LEASE_HELD, EXIT_LEASE_LOST

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def ibworker(port: int, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "ibworker", "--port", str(port), "--heartbeat-interval", "0.5"],
        cwd=ROOT, env=subprocess_env(), text=True, start_new_session=True, **popen,
    )  # fmt: skip


def test_a_second_ibworker_on_the_same_client_id_refuses_in_one_line_and_the_first_stays_healthy(paper_gateway, ib_worker):
    second = ibworker(paper_gateway.port, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = second.communicate(timeout=60)
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
            second.wait()

    lines = output.strip().splitlines()
    assert second.returncode == EXIT_LEASE_HELD, output
    assert len(lines) == 1, output
    assert lines[0].startswith("ibworker: client id 1 is owned by a running worker"), output
    assert f":{os.getpid()}, lease token 1" in lines[0]
    assert paper_gateway.connected_clients() == [1], "the second worker never connected"
    beat = WorkerHeartbeat.objects.get()
    assert beat.pid == os.getpid() and heartbeat_state()["connected"], "the heartbeat is still the first worker's"
    assert not ActivityEntry.objects.filter(message__contains="in use (326)").exists()


def test_a_worker_that_loses_its_lease_stops_at_once_and_writes_nothing_more(paper_gateway, redis_url, tmp_path, caplog):
    worker = WorkerThread(port=paper_gateway.port, var_dir=tmp_path, handler_paths=[]).start()
    worker.wait_connected()
    WorkerLease.objects.filter(client_id=1).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert lease_acquire(client_id=1, owner="bob-host:2", ttl=60) == 2
    taken_at = timezone.now()

    wait_until(lambda: worker.exit_code is not None, what="the fenced-out worker to stop")

    assert worker.stop() == EXIT_LEASE_LOST
    last_words = [r.message for r in caplog.records if r.message.endswith("stopping without writing anything more")]
    assert last_words == [  # the same, whether the heartbeat, the recorder or a run's database call found the loss
        "client id 1: lease token 1 is no longer current (taken over by bob-host:2, token 2); this worker has lost the lease; "
        "stopping without writing anything more"
    ]
    assert WorkerHeartbeat.objects.get().updated_at < taken_at, "no heartbeat after the takeover"
    assert not ActivityEntry.objects.filter(created_at__gte=taken_at).exists(), "nothing recorded after the takeover"
    assert WorkerLease.objects.get(client_id=1).owner == "bob-host:2", "the lease stays with the new owner"
    assert paper_gateway.connected_clients() == []


def test_the_next_worker_takes_over_the_lease_of_a_killed_one_at_once(paper_gateway, redis_url, start_worker):
    killed = ibworker(paper_gateway.port, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: WorkerHeartbeat.objects.filter(connected=True, pid=killed.pid).exists(), timeout=60,
                   what="the worker process's connected heartbeat")  # fmt: skip
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
    assert WorkerLease.objects.get(client_id=1).token == 1

    start_worker()

    lease = WorkerLease.objects.get(client_id=1)
    assert (lease.token, lease.owner.endswith(f":{os.getpid()}")) == (2, True)
    assert WorkerHeartbeat.objects.get().pid == os.getpid()


def test_a_clean_stop_releases_the_lease_and_the_next_worker_takes_it_with_a_larger_token(paper_gateway, start_worker):
    first = start_worker()
    assert first.stop() == 0
    assert WorkerLease.objects.get(client_id=1).released

    start_worker()

    lease = WorkerLease.objects.get(client_id=1)
    assert (lease.token, lease.released) == (2, False)


def test_a_standby_waits_touching_nothing_and_takes_over_when_the_owner_stops(paper_gateway, start_worker, tmp_path, caplog):
    owner = start_worker()
    standby = WorkerThread(port=paper_gateway.port, var_dir=tmp_path, handler_paths=[], standby=True, standby_poll=0.1).start()
    try:
        wait_until(lambda: "waiting to take over" in caplog.text, what="the standby's waiting line")
        beats = WorkerHeartbeat.objects.get().updated_at
        wait_until(lambda: WorkerHeartbeat.objects.get().updated_at > beats, what="another beat of the owner")
        assert standby.exit_code is None and not standby.worker.synced, "the standby neither refused nor connected"
        assert (WorkerLease.objects.get(client_id=1).token, paper_gateway.connected_clients()) == (1, [1])

        assert owner.stop() == 0

        wait_until(lambda: standby.worker.synced, what="the standby to connect and reconcile")
        assert WorkerLease.objects.get(client_id=1).token == 2
        assert WorkerHeartbeat.objects.get().details["lease_token"] == 2
        waiting, took_over = [r.message for r in caplog.records if r.message.startswith("standby:")]
        assert re.fullmatch(
            r"standby: client id 1 is owned by a running worker \(.+:\d+, lease token 1, renewed [\d.]+s ago\); "
            r"waiting to take over \(looking every 0\.1s\)",
            waiting,
        )
        assert re.fullmatch(r"standby: took over client id 1 \(lease token 2\) after waiting \d+\.\ds; connecting", took_over)
    finally:
        assert standby.stop() == 0


def test_a_standby_stopped_while_it_waits_exits_0_and_touched_nothing(paper_gateway, ib_worker, tmp_path, caplog):
    standby = WorkerThread(port=paper_gateway.port, var_dir=tmp_path, handler_paths=[], standby=True, standby_poll=0.1).start()
    wait_until(lambda: "waiting to take over" in caplog.text, what="the standby's waiting line")

    assert standby.stop() == 0

    assert standby.worker.refusal is None, "a standby asked to stop is not refused"
    assert WorkerLease.objects.get(client_id=1).token == 1
    assert paper_gateway.connected_clients() == [1]
    assert not ActivityEntry.objects.filter(message__contains="stopped").exists(), "the owner is still running"
