"""No phantom orders: an order that failed to send is `NotSent`; after a reconnect, open rows IB does not
know are closed out as `UnknownToIB` once the reconcile has run and the row is old enough."""

import asyncio

import pytest
from ib_insync import Stock

from tests.harness import WorkerThread, wait_until
from tests.intents.conftest import _heartbeat_connected, submit_and_wait
from tests.intents.factories import switches_set
from trading.intents import Intent, IntentParams, intent_register
from trading.intents.executor import IntentExecutor
from trading.models import ActivityEntry, ActivityKind, Order, OrderStatus, RunStatus
from trading.worker.phantoms import PhantomSweeper

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

AGE = 1.0  # the tests' PHANTOM_AGE
gateway_under_test = {}


@intent_register
class BuyAsTheGatewayDies(Intent):
    """Buys SPY; the gateway drops every session after the order's row is written and before it is
    sent. `cut="noticed"`: the worker has read the drop when it sends (ib_insync raises
    ConnectionError). `cut="unnoticed"`: it sends before reading it (ib_insync writes into a dead
    socket and keeps a PendingSubmit trade IB never received)."""

    name = "test_buy_as_the_gateway_dies"
    places_orders = True

    class Params(IntentParams):
        cut: str
        quantity: int = 3

    async def run(self, ctx, params):
        contract = Stock("SPY", "SMART", "USD")
        await ctx.qualify(contract)
        database = ctx.db

        async def db_then_cut(fn, *args, **kwargs):
            result = await database(fn, *args, **kwargs)
            if getattr(fn, "__name__", "") == "order_record" and args[4] == OrderStatus.PENDING_SUBMIT:
                gateway_under_test["gateway"].drop_connections()
                if params.cut == "noticed":
                    await _until(lambda: not ctx.ib.isConnected())
            return result

        ctx.db = db_then_cut
        placed = await ctx.orders.place(contract=contract, action="BUY", quantity=params.quantity, owner="testsignalgenerator")
        return {"order": placed.as_dict()}


async def _until(predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "the worker never read the drop"
        await asyncio.sleep(0.005)


@pytest.fixture
def sweeping_worker(paper_gateway, redis_url, transactional_db, tmp_path):
    """A worker as `manage.py ibworker` builds it (phantom sweep first), with a 1 s phantom age."""
    gateway_under_test["gateway"] = paper_gateway
    worker = WorkerThread(
        port=paper_gateway.port, var_dir=tmp_path, handler_paths=[],
        extensions=[PhantomSweeper(age=AGE), IntentExecutor(sweep_interval=0.1)],
    ).start()  # fmt: skip
    worker.wait_connected()
    wait_until(_heartbeat_connected, what="a connected heartbeat")
    switches_set(trading_enabled=True, dry_run_default=False)
    yield worker
    worker.stop()


def reconnected(worker, connects_before: int) -> bool:
    return worker.worker.connects > connects_before and worker.worker.synced


def test_an_order_that_failed_to_send_is_not_sent_with_its_error_and_never_listed_open(paper_gateway, sweeping_worker):
    run = submit_and_wait("test_buy_as_the_gateway_dies", {"cut": "noticed"})

    assert run.status == RunStatus.FAILED
    assert "BUY 3 SPY" in run.error and "was not sent: ConnectionError: Not connected" in run.error
    row = Order.objects.get(run=run)
    assert row.status == OrderStatus.NOT_SENT and "Not connected" in row.last_error
    assert ActivityEntry.objects.filter(kind=ActivityKind.ORDER_REFUSED, run=run, message__startswith="not sent").exists()
    wait_until(lambda: reconnected(sweeping_worker, 1), what="the worker to reconnect")
    sweeping_worker.flush()
    assert not Order.objects.filter(status__in=OrderStatus.open_values()).exists()
    assert [o for o in paper_gateway.orders() if o["client_id"] == 1] == []


def test_after_a_reconnect_an_open_row_ib_does_not_know_is_closed_out_and_a_known_one_is_kept(paper_gateway, sweeping_worker):
    resting = submit_and_wait("test_orders_resting", {"limit": round(paper_gateway.quote("SPY")["bid"] / 3, 2)})
    assert resting.status == RunStatus.SUCCEEDED, resting.error
    working = Order.objects.get(run=resting)
    wait_until(lambda: Order.objects.get(pk=working.pk).status == OrderStatus.SUBMITTED, what="the resting order at IB")

    run = submit_and_wait("test_buy_as_the_gateway_dies", {"cut": "unnoticed"})

    phantom = Order.objects.get(run=run)
    assert [o["order_ref"] for o in paper_gateway.orders() if o["client_id"] == 1] == [working.order_ref], "never reached IB"
    wait_until(lambda: reconnected(sweeping_worker, 1), what="the worker to reconnect")
    wait_until(
        lambda: Order.objects.get(pk=phantom.pk).status == OrderStatus.UNKNOWN_TO_IB, timeout=15, what="the phantom closed out"
    )
    phantom.refresh_from_db()
    assert "IB does not know order" in phantom.last_error and "BUY 3 SPY" in phantom.last_error
    assert ActivityEntry.objects.filter(
        kind=ActivityKind.ORDER, message__startswith="closed out", payload__order=phantom.pk
    ).exists()
    assert Order.objects.get(pk=working.pk).status == OrderStatus.SUBMITTED
    assert list(Order.objects.filter(status__in=OrderStatus.open_values()).values_list("pk", flat=True)) == [working.pk]


@intent_register
class RestingBuy(Intent):
    name = "test_orders_resting"
    places_orders = True

    class Params(IntentParams):
        limit: float

    async def run(self, ctx, params):
        contract = Stock("SPY", "SMART", "USD")
        await ctx.qualify(contract)
        placed = await ctx.orders.place(
            contract=contract, action="BUY", quantity=1, order_type="LMT", limit_price=params.limit, owner="testsignalgenerator"
        )
        return {"order": placed.as_dict()}
