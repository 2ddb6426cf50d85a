"""Runs are routed by account: two paper gateways (DU1 on the default connection, DU2 on `desk2`), a
worker each; a close_all for DU2 flattens DU2 at its gateway and leaves DU1's gateway untouched, the
submission path refuses a missing or unknown account listing the known ones, and a run for an
account whose worker is down is refused with nothing queued."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import Schedule

from tests.api.conftest import BearerClient
from tests.api.factories import order_make
from tests.harness import WorkerThread, wait_until
from trading.config import config_update
from trading.connections.services import connection_add
from trading.dashboard.actions import dashboard_order_cancel
from trading.ibsim.testing import TEST_DEFAULTS, run_in_thread
from trading.intents.executor import IntentExecutor, queued_runs
from trading.intents.runs import (
    IntentParamsInvalid,
    WorkerUnavailable,
    accounts_known,
    run_claim,
    run_interrupt_orphans,
    run_submit,
    run_wait,
)
from trading.intents.schedules import schedule_create, schedule_intent
from trading.intents.tasks import intent_scheduled
from trading.management.commands.runintent import EXIT_BAD_INPUT, EXIT_WORKER
from trading.models import ConfigScope, IBConnection, IntentRun, Order, RunSource, RunStatus, WorkerHeartbeat
from trading.tokens import token_create
from trading.worker.health import heartbeat_state, worker_name
from trading.worker.lease import lease_acquire, lease_release

live = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def held(gateway) -> dict:
    return {symbol: quantity for symbol, quantity in gateway.positions().items() if quantity}


def api_orders(gateway) -> list[dict]:
    """Orders an API client placed at this gateway (a manual trade is client 0)."""
    return [o for o in gateway.orders() if o["client_id"]]


def worker_start(*, port: int, var_dir, connection: str = "default", extensions=None, **options) -> WorkerThread:
    """A worker thread of `connection` (executing runs, unless other `extensions` are given), returned once
    its heartbeat says connected and names its gateway's accounts."""
    worker = WorkerThread(
        port=port, var_dir=var_dir, connection=connection, handler_paths=[],
        extensions=extensions or [IntentExecutor(sweep_interval=0.1)], **options,
    ).start()  # fmt: skip
    worker.wait_connected()
    # its heartbeat says connected and names its gateway's accounts: what the submission path reads
    wait_until(
        lambda: (
            heartbeat_state(worker_name(connection))["connected"]
            and heartbeat_state(worker_name(connection))["details"].get("accounts")
        ),
        what=f"the {connection} worker's connected heartbeat",
    )
    return worker


def long_at(gateway, worker: WorkerThread, symbol: str, quantity: int) -> None:
    gateway.external_trade(symbol, quantity, with_execution=False)
    wait_until(
        lambda: any(p.contract.symbol == symbol and p.position == quantity for p in worker.worker.ib.positions()),
        what=f"{symbol} {quantity} at the worker",
    )


def submit(intent: str, **kwargs) -> IntentRun:
    run, _ = run_submit(intent=intent, source=RunSource.CLI, **kwargs)
    return run


@pytest.fixture
def two_accounts(paper_gateway, redis_url, transactional_db, tmp_path):
    """DU1 at the default connection's gateway, DU2 at desk2's; a worker each; trading enabled, real runs."""
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True, "dry_run_default": False})
    with run_in_thread(**{**TEST_DEFAULTS, "seed": 2}, account_id="DU2") as du2_gateway:
        # DU2's connection lists its account; the default connection lists none: its worker's report counts
        connection_add(name="desk2", host="127.0.0.1", port=du2_gateway.port, client_id=2, accounts=["DU2"])
        du1 = worker_start(port=paper_gateway.port, var_dir=tmp_path / "du1")
        du2 = worker_start(port=du2_gateway.port, var_dir=tmp_path / "du2", connection="desk2", client_id=2, account="DU2")
        try:
            long_at(paper_gateway, du1, "SPY", 10)
            long_at(du2_gateway, du2, "SPY", 5)
            long_at(du2_gateway, du2, "QQQ", 3)
            yield paper_gateway, du2_gateway, du1, du2
        finally:
            du2.stop()
            du1.stop()


@live
@pytest.mark.paper_gateway(account_id="DU1")
def test_a_close_all_for_du2_flattens_du2_at_its_gateway_and_leaves_du1_alone(two_accounts):
    du1_gateway, du2_gateway, du1, du2 = two_accounts
    assert accounts_known() == {"DU1": "default", "DU2": "desk2"}

    with pytest.raises(IntentParamsInvalid, match=r"several accounts are known \(DU1, DU2\): name one with `account`"):
        submit("close_all")
    with pytest.raises(IntentParamsInvalid, match=r"unknown account 'DU9': the known accounts are DU1, DU2"):
        submit("close_all", params={"account": "DU9"})
    assert not IntentRun.objects.exists(), "a refused request queues nothing"

    run = submit("close_all", params={"account": "DU2"})
    assert (run.account, run.connection) == ("DU2", "desk2")
    run = run_wait(run.pk, timeout=20)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert held(du2_gateway) == {}, "DU2 flattened at its gateway"
    assert held(du1_gateway) == {"SPY": 10}, "DU1 untouched at its gateway"
    assert api_orders(du1_gateway) == [], "nothing was sent to DU1's gateway"
    closes = api_orders(du2_gateway)
    symbol = {du2_gateway.gateway.instrument(s).con_id: s for s in ("SPY", "QQQ")}  # a static lookup
    assert sorted((symbol[o["con_id"]], o["action"], o["account"], o["client_id"]) for o in closes) == [
        ("QQQ", "SELL", "DU2", 2), ("SPY", "SELL", "DU2", 2),
    ], "DU2's worker (client 2) closed both, for DU2"  # fmt: skip
    assert set(Order.objects.filter(run=run).values_list("account", flat=True)) == {"DU2"}, "the orders carry DU2"

    # DU2's worker goes down: a run for DU2 is refused at submit time, nothing queued; DU1 still runs
    assert du2.stop() == 0
    assert not heartbeat_state(worker_name("desk2"))["connected"]
    runs_before = IntentRun.objects.count()
    with pytest.raises(WorkerUnavailable, match=r"the IB worker of connection desk2 \(account DU2\) is not connected"):
        submit("close_all", account="DU2")
    with pytest.raises(CommandError, match=r"the IB worker of connection desk2 \(account DU2\)") as refused:
        call_command("runintent", "close_all", "--all-accounts", "--live", stdout=StringIO(), stderr=StringIO())
    assert refused.value.returncode == EXIT_WORKER
    assert IntentRun.objects.count() == runs_before, "nothing was queued, not even DU1's run of --all-accounts"

    run = run_wait(submit("close_all", account="DU1").pk, timeout=20)
    assert run.status == RunStatus.SUCCEEDED and run.connection == "default", run.error
    assert held(du1_gateway) == {}


@live
@pytest.mark.paper_gateway(account_id="DU1")
def test_runintent_all_accounts_flattens_every_account_with_one_run_each(two_accounts):
    du1_gateway, du2_gateway, _, _ = two_accounts
    out = StringIO()

    call_command("runintent", "close_all", "--all-accounts", "--live", "--wait", "20", stdout=out, stderr=StringIO())

    assert held(du1_gateway) == {} and held(du2_gateway) == {}
    runs = IntentRun.objects.order_by("account")
    assert [(r.account, r.connection, r.status) for r in runs] == [
        ("DU1", "default", RunStatus.SUCCEEDED), ("DU2", "desk2", RunStatus.SUCCEEDED),
    ]  # fmt: skip
    assert f"run #{runs[0].pk} close_all for DU1: succeeded" in out.getvalue()
    assert f"run #{runs[1].pk} close_all for DU2: succeeded" in out.getvalue()


def heartbeat(name: str, accounts: list[str], *, connected: bool = True) -> None:
    WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"connected": connected, "details": {"accounts": accounts}, "updated_at": timezone.now()}
    )


@pytest.mark.django_db
def test_no_account_anywhere_submits_as_before_and_one_account_is_the_default():
    IBConnection.objects.filter(name="default").update(accounts=[])
    heartbeat("ibworker", [])
    run = submit("summary")
    assert (run.account, run.connection) == ("", "default"), "no account known: exactly as before routing"

    heartbeat("ibworker", ["DU7"])  # what the default worker's gateway manages
    run = submit("summary")
    assert (run.account, run.connection) == ("DU7", "default")
    assert submit("summary", params={"account": " DU7 "}).account == "DU7"


@pytest.mark.django_db
def test_a_connections_listed_accounts_win_over_its_gateways_report_and_disabled_connections_own_none():
    IBConnection.objects.filter(name="default").update(accounts=["DU1"])
    heartbeat("ibworker", ["DU1", "DU5"])  # an advisor login manages more than this connection may trade
    connection_add(name="desk2", host="10.0.0.2", port=4002, client_id=1)
    heartbeat("ibworker-desk2", ["DU2"])
    connection_add(name="desk3", host="10.0.0.3", port=4002, client_id=1, accounts=["DU3"])
    IBConnection.objects.filter(name="desk3").update(enabled=False)

    assert accounts_known() == {"DU1": "default", "DU2": "desk2"}
    run = submit("summary", account="DU2")
    assert (run.account, run.connection) == ("DU2", "desk2")
    for account in ("DU5", "DU3"):
        with pytest.raises(IntentParamsInvalid, match=rf"account: unknown account '{account}': the known accounts are DU1, DU2"):
            submit("summary", account=account)
    with pytest.raises(IntentParamsInvalid, match="account: must be an account code"):
        submit("summary", params={"account": 7})
    assert IntentRun.objects.count() == 1


@pytest.mark.django_db
def test_an_account_named_when_none_is_known_is_refused():
    IBConnection.objects.filter(name="default").update(accounts=[])
    with pytest.raises(IntentParamsInvalid, match="unknown account 'DU2': no account is known"):
        submit("summary", account="DU2")


@pytest.mark.django_db
def test_runintent_account_refusals_exit_2_and_queue_nothing():
    IBConnection.objects.filter(name="default").update(accounts=["DU1"])
    heartbeat("ibworker", ["DU1"])
    connection_add(name="desk2", host="10.0.0.2", port=4002, client_id=1, accounts=["DU2"])
    heartbeat("ibworker-desk2", ["DU2"])
    for args, message in [
        ((), r"bad parameters for summary: account: several accounts are known \(DU1, DU2\)"),
        (("--account", "DU9"), r"account: unknown account 'DU9': the known accounts are DU1, DU2"),
        (("--all-accounts", "--idempotency-key", "k1"), "--idempotency-key names one run; --all-accounts submits several"),
        (("--all-accounts", "--param", "account=DU1"), "--all-accounts names every account: give no account parameter"),
    ]:
        with pytest.raises(CommandError, match=message) as refused:
            call_command("runintent", "summary", *args, stdout=StringIO(), stderr=StringIO())
        assert refused.value.returncode == EXIT_BAD_INPUT
    assert not IntentRun.objects.exists()


@pytest.fixture
def alice_api(alice) -> BearerClient:
    return BearerClient(token_create(user=alice, name="alice-cron")[1])


@pytest.mark.django_db
def test_the_api_takes_account_in_the_body_and_shows_it_on_the_run(alice_api):
    heartbeat("ibworker", ["DU1"])
    connection_add(name="desk2", host="10.0.0.2", port=4002, client_id=1, accounts=["DU2"])
    heartbeat("ibworker-desk2", ["DU2"])

    response = alice_api.post_json("/api/intents/summary", {"account": "DU9"})
    assert response.status_code == 422
    assert "unknown account 'DU9': the known accounts are DU1, DU2" in response.json()["detail"]
    response = alice_api.post_json("/api/intents/summary", {})
    assert response.status_code == 422 and "several accounts are known (DU1, DU2)" in response.json()["detail"]
    assert not IntentRun.objects.exists()

    response = alice_api.post_json("/api/intents/summary", {"account": "DU2"})
    assert response.status_code == 202
    body = response.json()
    assert (body["account"], body["connection"], body["params"]) == ("DU2", "desk2", {})
    assert alice_api.get(f"/api/runs/{body['id']}").json()["account"] == "DU2"
    submit("summary", account="DU1")
    assert [run["account"] for run in alice_api.get("/api/runs?account=DU2").json()["items"]] == ["DU2"]
    csv = b"".join(alice_api.get("/api/runs?format=csv&account=DU1").streaming_content).decode().splitlines()
    assert csv[0].startswith("id,intent,account,connection,") and ",summary,DU1,default," in csv[1] and len(csv) == 2


@pytest.mark.django_db
def test_a_cancel_of_an_order_row_goes_to_the_connection_that_recorded_it(alice, alice_api):
    heartbeat("ibworker", ["DU1"])
    connection_add(name="desk2", host="10.0.0.2", port=4002, client_id=2, accounts=["DU2"])
    heartbeat("ibworker-desk2", ["DU2"])
    order = order_make(account="DU2", client_id=2, connection="desk2")

    response = alice_api.delete(f"/api/orders/{order.pk}")

    assert response.status_code == 202, response.content
    assert (response.json()["run"]["account"], response.json()["run"]["connection"]) == ("DU2", "desk2")
    with pytest.raises(SystemExit):  # still queued when --wait 0 ran out (exit 6): no worker runs here
        call_command("order", "cancel", str(order.pk), "--wait", "0", stdout=StringIO(), stderr=StringIO())
    assert IntentRun.objects.order_by("-id").values_list("account", "connection").first() == ("DU2", "desk2")
    outcome = dashboard_order_cancel(user=alice, order=order.pk, confirmed=True)  # the dashboard's button
    assert IntentRun.objects.values_list("account", "connection").get(pk=outcome.run["id"]) == ("DU2", "desk2")


@pytest.mark.django_db
def test_a_worker_claims_sweeps_and_interrupts_only_the_runs_of_its_own_connection():
    default_token = lease_acquire(client_id=1, owner="host-a:1", ttl=30)
    desk2_token = lease_acquire(client_id=1, owner="host-b:1", ttl=30, connection="desk2")
    later = timezone.now() + timedelta(seconds=60)
    desk2_run = IntentRun.objects.create(intent="summary", source="cli", connection="desk2", start_deadline=later)
    default_run = IntentRun.objects.create(intent="summary", source="cli", start_deadline=later)

    assert queued_runs(connection="default") == [default_run.pk], "the sweep hands over its own connection's only"
    assert queued_runs(connection="desk2") == [desk2_run.pk]
    assert not run_claim(desk2_run.pk, client_id=1, token=default_token), "not the default worker's run"
    assert run_claim(desk2_run.pk, client_id=1, token=desk2_token, connection="desk2")
    assert run_claim(default_run.pk, client_id=1, token=default_token)

    # the default worker restarts (token 2): its old run (token 1) is an orphan; desk2's (token 1 too) is not its business
    assert lease_release(client_id=1, token=default_token)
    swept = run_interrupt_orphans(token=lease_acquire(client_id=1, owner="host-a:2", ttl=30))
    assert [run.pk for run in swept] == [default_run.pk]
    assert IntentRun.objects.get(pk=desk2_run.pk).status == RunStatus.RUNNING


@pytest.mark.django_db
def test_a_schedule_keeps_its_account_and_its_runs_trade_it(alice):
    heartbeat("ibworker", ["DU1"])
    connection_add(name="desk2", host="10.0.0.2", port=4002, client_id=2, accounts=["DU2"])
    heartbeat("ibworker-desk2", ["DU2"])
    with pytest.raises(IntentParamsInvalid, match="unknown account 'DU9'"):
        schedule_create(
            name="eod DU9", intent="summary", params={"account": "DU9"}, dry_run=None, cron="0 16 * * *", enabled=True
        )
    assert not Schedule.objects.filter(name="eod DU9").exists(), "nothing saved"

    schedule = schedule_create(
        name="eod DU2", intent="summary", params={"account": "DU2"}, dry_run=None, cron="0 16 * * *", enabled=True, user=alice
    )
    call = schedule_intent(schedule)
    assert call["params"] == {"account": "DU2"}

    run = IntentRun.objects.get(pk=intent_scheduled(call["intent"], call["params"], call["dry_run"]))
    assert (run.account, run.connection, run.params) == ("DU2", "desk2", {})
