"""A worker per IB connection: the owner lease is keyed by (connection, client id), so two gateways
may each have a client 1, while a second worker on the same connection is still refused; `ibworker
--connection NAME` runs the worker of that row, against that row's gateway."""

from decimal import Decimal

import pytest
from django.core.management.base import CommandError

from tests.harness import WorkerThread
from trading.connections.services import connection_add, connection_set_enabled
from trading.ibsim.testing import TEST_DEFAULTS, run_in_thread
from trading.management.commands.ibworker import Command as IBWorkerCommand
from trading.management.commands.ibworker import worker_extensions
from trading.models import ActivityEntry, Position, WorkerHeartbeat, WorkerLease
from trading.worker.lease import lease_acquire, lease_held_message, lease_release
from trading.worker.positions import PositionLedger
from trading.worker.reconcile import reconcile_apply
from trading.worker.service import EXIT_LEASE_HELD

ALICE, BOB = "alice-host:1", "bob-host:2"  # owners on other hosts: only the ttl frees their lease


@pytest.mark.django_db
def test_each_connection_has_its_own_lease_for_client_1():
    assert lease_acquire(client_id=1, owner=ALICE, ttl=30) == 1, "no connection named: the default's, as before"
    assert lease_acquire(client_id=1, owner=BOB, ttl=30, connection="desk2") == 1, "another gateway's client 1"
    assert lease_acquire(client_id=1, owner=BOB, ttl=30) is None
    assert lease_acquire(client_id=1, owner=ALICE, ttl=30, connection="desk2") is None
    assert lease_held_message(1, connection="desk2").startswith(
        f"connection desk2: client id 1 is owned by a running worker ({BOB}"
    )
    assert lease_held_message(1).startswith(f"client id 1 is owned by a running worker ({ALICE}"), "the default's reads as before"
    assert not lease_release(client_id=1, token=1, connection="other"), "a lease is released only under its own key"
    assert sorted(WorkerLease.objects.values_list("connection", "client_id", "owner")) == [
        ("default", 1, ALICE), ("desk2", 1, BOB),
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_with_client_1_on_two_gateways_coexist_and_a_second_on_one_connection_is_refused(
    paper_gateway, start_worker, tmp_path
):
    with run_in_thread(**TEST_DEFAULTS, account_id="DU2") as second_gateway:
        connection_add(name="desk2", host="127.0.0.1", port=second_gateway.port, client_id=1, accounts=["DU2"])
        first = start_worker()  # the default connection, client 1
        second = WorkerThread(port=second_gateway.port, var_dir=tmp_path, connection="desk2").start()
        intruder = None
        try:
            second.wait_connected()
            intruder = WorkerThread(port=second_gateway.port, var_dir=tmp_path, connection="desk2")
            assert intruder.start().stop() == EXIT_LEASE_HELD
            assert intruder.worker.refusal.startswith("connection desk2: client id 1 is owned by a running worker")

            assert first.worker.synced and second.worker.synced, "both owners keep running"
            for worker in (first, second):
                worker.call(worker.worker._write_heartbeat())
            assert set(WorkerHeartbeat.objects.filter(connected=True).values_list("name", flat=True)) == {
                "ibworker", "ibworker-desk2",
            }, "each writes its own heartbeat row"  # fmt: skip
            assert paper_gateway.connected_clients() == [1] and second_gateway.connected_clients() == [1]
            assert sorted(WorkerLease.objects.values_list("connection", "client_id", "token")) == [
                ("default", 1, 1), ("desk2", 1, 1),
            ]  # fmt: skip
        finally:
            assert second.stop() == 0
        assert WorkerLease.objects.get(connection="desk2").released is True, "released at a clean stop"
        assert WorkerLease.objects.get(connection="default").released is False, "the default's owner still holds its own"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ibworker_connection_runs_that_rows_worker_against_its_own_paper_gateway(paper_gateway, redis_url, tmp_path):
    connection_add(name="desk2", host="127.0.0.1", port=paper_gateway.port, client_id=7, accounts=[paper_gateway.account_id])
    target = IBWorkerCommand()._target("desk2", host=None, port=None, client_id=None)
    assert target == {
        "host": "127.0.0.1", "port": paper_gateway.port, "client_id": 7, "mode": "paper",
        "account": paper_gateway.account_id, "connection": "desk2", "name": "ibworker-desk2",
    }  # fmt: skip
    target.pop("host"), target.pop("mode")  # the harness connects to 127.0.0.1 in paper mode
    extensions = worker_extensions()
    assert {type(e).__name__ for e in extensions} == {
        "PhantomSweeper", "IntentExecutor", "OrderDesk", "EquityRecorder", "SessionRetention",
    }, "every connection's worker runs them all, each over its own connection's rows"  # fmt: skip

    worker = WorkerThread(**target, var_dir=tmp_path, handler_paths=[], extensions=extensions).start()
    try:
        worker.wait_connected()
        assert paper_gateway.connected_clients() == [7]
        lease = WorkerLease.objects.get(client_id=7)
        assert (lease.connection, lease.token, lease.released) == ("desk2", 1, False)
        worker.call(worker.worker._write_heartbeat())
        assert WorkerHeartbeat.objects.get(name="ibworker-desk2").connected is True
        assert not WorkerHeartbeat.objects.filter(name="ibworker").exists(), "the default's row is the default worker's"
        assert (
            ActivityEntry.objects.filter(message__contains="IB worker started (pid")
            .get()
            .message.endswith("connection desk2, client id 7)")
        )
    finally:
        assert worker.stop() == 0


@pytest.mark.django_db
def test_ibworker_refuses_an_unknown_or_disabled_connection_and_mixing_connection_with_flags():
    connection_add(name="desk2", host="10.0.0.9", port=4002, client_id=1)
    connection_set_enabled(name="desk2", enabled=False)
    for name, flags, message in [
        ("nope", {}, "no connection named 'nope'"),
        ("desk2", {}, "connection 'desk2' is disabled; `manage.py connection enable desk2` first"),
        ("desk2", {"port": 4002}, "give either --connection or --host/--port/--client-id"),
    ]:
        with pytest.raises(CommandError, match=message) as refused:
            IBWorkerCommand()._target(name, **{"host": None, "port": None, "client_id": None, **flags})
        assert refused.value.returncode == 2


@pytest.mark.django_db
def test_a_reconcile_leaves_the_positions_of_accounts_its_gateway_does_not_manage_alone():
    spy = {"symbol": "SPY", "sec_type": "STK", "exchange": "ARCA", "currency": "USD", "local_symbol": "SPY"}
    Position.objects.create(mode="paper", account="DU1", quantity=Decimal(10), con_id=756733, **spy)
    Position.objects.create(mode="paper", account="DU2", quantity=Decimal(5), con_id=756733, **spy)

    reconcile_apply(
        mode="paper", ledger=PositionLedger(1), trades=[], fills=[], positions=[], portfolio=[], account_values=[],
        gateway="127.0.0.1:4012", accounts=["DU2"],
    )  # fmt: skip

    held = dict(Position.objects.values_list("account", "quantity"))
    assert held == {"DU1": Decimal(10)}, "DU2's is gone; DU1 is another connection's: not reported here is not gone"
