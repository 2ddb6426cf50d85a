"""Records carry their connection: two paper gateways (DU1 on the default connection, DU2 on `desk2`),
a worker each, BOTH with client id 1 — normal for two IB logins. Their first orders get the same IB
order id; each is its own row, with its own fills, position, holding and activity, and a reconnect of
one gateway closes out only that connection's phantom rows."""

import pytest

from tests.harness import WorkerThread, wait_until
from tests.worker.test_account_routing import worker_start as routing_worker_start
from trading.config import config_update
from trading.connections.services import connection_add
from trading.ibsim.testing import TEST_DEFAULTS, run_in_thread
from trading.intents.executor import IntentExecutor
from trading.intents.runs import order_route, run_submit, run_wait
from trading.models import (
    AccountValue,
    ActivityEntry,
    ActivityKind,
    ConfigScope,
    Fill,
    Holding,
    Order,
    OrderStatus,
    Position,
    PositionSnapshot,
    RunSource,
    RunStatus,
)
from trading.worker.phantoms import PhantomSweeper

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

AGE = 1.0  # the phantom age of these workers (PHANTOM_AGE is a minute)


def worker_start(*, port: int, var_dir, connection: str, **options) -> WorkerThread:
    """A worker on client id 1 that also closes out phantom rows after AGE seconds."""
    extensions = [PhantomSweeper(age=AGE), IntentExecutor(sweep_interval=0.1)]
    return routing_worker_start(port=port, var_dir=var_dir, connection=connection, client_id=1, extensions=extensions, **options)


@pytest.fixture
def twin_gateways(paper_gateway, redis_url, transactional_db, tmp_path):
    """DU1's gateway on the default connection, DU2's on desk2: a worker each, both client id 1."""
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True, "dry_run_default": False})
    with run_in_thread(**{**TEST_DEFAULTS, "seed": 2}, account_id="DU2") as du2_gateway:
        connection_add(name="desk2", host="127.0.0.1", port=du2_gateway.port, client_id=1, accounts=["DU2"])
        du1 = worker_start(port=paper_gateway.port, var_dir=tmp_path / "du1", connection="default")
        du2 = worker_start(port=du2_gateway.port, var_dir=tmp_path / "du2", connection="desk2", account="DU2")
        try:
            yield paper_gateway, du2_gateway, du1, du2
        finally:
            du2.stop()
            du1.stop()


def place(account: str, **params) -> Order:
    run, _ = run_submit(
        intent="place_order", params={"symbol": "SPY", "action": "BUY", **params}, source=RunSource.CLI, account=account
    )
    run = run_wait(run.pk, timeout=20)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return Order.objects.get(run=run)


@pytest.mark.paper_gateway(account_id="DU1")
def test_orders_of_two_client_1s_with_the_same_ib_order_id_are_two_rows_with_their_own_fills(twin_gateways):
    du1_gateway, du2_gateway, du1, du2 = twin_gateways

    du1_order = place("DU1", quantity=2, strategy="swing")
    du2_order = place("DU2", quantity=3, strategy="swing")

    assert du1_order.order_id == du2_order.order_id > 0, "the premise: both gateways handed out the same order id"
    assert (du1_order.connection, du1_order.account, du1_order.client_id) == ("default", "DU1", 1)
    assert (du2_order.connection, du2_order.account, du2_order.client_id) == ("desk2", "DU2", 1)
    for row, gateway in ((du1_order, du1_gateway), (du2_order, du2_gateway)):
        wait_until(lambda row=row: Order.objects.get(pk=row.pk).status == OrderStatus.FILLED, what=f"{row.account} filled")
        wait_until(lambda gateway=gateway: gateway.positions().get("SPY"), what="the position at the gateway")
    du1.flush(), du2.flush()

    fills = {(f.order_id, f.connection, f.account, int(f.shares)) for f in Fill.objects.all()}
    assert fills == {(du1_order.pk, "default", "DU1", 2), (du2_order.pk, "desk2", "DU2", 3)}, "each fill on its own row"
    assert Order.objects.filter(order_id=du1_order.order_id).count() == 2
    positions = {(p.connection, p.account, int(p.quantity)) for p in Position.objects.filter(symbol="SPY")}
    assert positions == {("default", "DU1", 2), ("desk2", "DU2", 3)}
    holdings = {(h.connection, h.account, h.strategy, int(h.quantity)) for h in Holding.objects.all()}
    assert holdings == {("default", "DU1", "swing", 2), ("desk2", "DU2", "swing", 3)}, "holdings are per account"
    assert set(AccountValue.objects.filter(account="DU2").values_list("connection", flat=True)) == {"desk2"}
    assert set(AccountValue.objects.filter(account="DU1").values_list("connection", flat=True)) == {"default"}
    assert set(PositionSnapshot.objects.values_list("connection", flat=True)) == {"default", "desk2"}
    fill_entries = ActivityEntry.objects.filter(kind=ActivityKind.FILL)
    assert {(e.connection, e.account, e.payload["order"]) for e in fill_entries} == {
        ("default", "DU1", du1_order.pk), ("desk2", "DU2", du2_order.pk),
    }  # fmt: skip
    reconciled = ActivityEntry.objects.filter(kind=ActivityKind.RECONCILIATION)
    assert set(reconciled.values_list("connection", flat=True)) == {"default", "desk2"}
    assert order_route(du2_order).connection == "desk2"


@pytest.mark.paper_gateway(account_id="DU1", tick_interval=0)
def test_a_reconnect_of_one_gateway_closes_out_only_its_own_connections_phantom_rows(twin_gateways):
    du1_gateway, du2_gateway, du1, du2 = twin_gateways
    du1_gateway.set_price("SPY", 100)
    working = place("DU1", quantity=1, order_type="LMT", limit_price=90)
    wait_until(lambda: Order.objects.get(pk=working.pk).status == OrderStatus.SUBMITTED, what="DU1's order working")
    # desk2 has an open row with the very same client id and order id that its gateway never received
    phantom = Order.objects.create(
        mode="paper", connection="desk2", account="DU2", client_id=1, order_id=working.order_id, symbol="SPY",
        con_id=working.con_id, action="BUY", total_quantity=1, order_type="LMT", status=OrderStatus.SUBMITTED, remaining=1,
    )  # fmt: skip

    connects = du2.worker.connects
    du2_gateway.drop_connections()
    wait_until(lambda: du2.worker.connects > connects and du2.worker.synced, what="desk2's worker to reconnect")
    wait_until(
        lambda: Order.objects.get(pk=phantom.pk).status == OrderStatus.UNKNOWN_TO_IB, timeout=15, what="desk2's phantom closed"
    )

    assert Order.objects.get(pk=working.pk).status == OrderStatus.SUBMITTED, "DU1's working order is not desk2's to judge"
    assert [o["order_id"] for o in du1_gateway.open_orders()] == [working.order_id]
    closed = ActivityEntry.objects.get(kind=ActivityKind.ORDER, message__startswith="closed out")
    assert (closed.connection, closed.account, closed.payload["order"]) == ("desk2", "DU2", phantom.pk)
