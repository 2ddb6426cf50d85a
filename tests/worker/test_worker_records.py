"""The worker against the paper gateway: an order's whole life, fills once, a restart, external trades."""

import asyncio
import threading
from decimal import Decimal

import pytest

from tests.harness import WorkerThread, wait_until
from tests.worker.conftest import place_limit
from trading.models import ActivityEntry, ActivityKind, Fill, Holding, Order, Position, PositionSnapshot, WorkerHeartbeat

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def order_status(order_id):
    row = Order.objects.filter(order_id=order_id).first()
    return row.status if row else None


def test_it_connects_syncs_and_records_an_orders_whole_life_and_its_fill_once(paper_gateway, ib_worker):
    assert PositionSnapshot.objects.filter(source="baseline").exists()
    wait_until(lambda: WorkerHeartbeat.objects.filter(connected=True).exists(), what="a connected heartbeat")

    paper_gateway.set_price("SPY", 100.0)
    trade = place_limit(ib_worker, "SPY", "BUY", 10, 99.0, owner="testsignalgenerator")
    order_id = trade.order.orderId
    wait_until(lambda: order_status(order_id) == "Submitted", what="the resting order to be recorded")

    paper_gateway.set_price("SPY", 98.5)  # crosses the limit: the gateway fills it
    wait_until(lambda: order_status(order_id) == "Filled", what="the order to be recorded as filled")
    wait_until(lambda: Fill.objects.filter(commission__isnull=False).exists(), what="the fill with its commission")
    ib_worker.flush()

    order = Order.objects.get(order_id=order_id)
    fill = Fill.objects.get()
    assert (order.filled, order.strategy) == (Decimal(10), "testsignalgenerator")
    assert fill.order == order and fill.shares == 10 and fill.price <= Decimal("99")
    assert Holding.objects.get(strategy="testsignalgenerator").quantity == 10
    assert Position.objects.get(symbol="SPY").quantity == 10
    kinds = list(ActivityEntry.objects.values_list("kind", flat=True))
    assert kinds.count(ActivityKind.FILL) == 1 and ActivityKind.ORDER in kinds
    assert not ActivityEntry.objects.filter(kind=ActivityKind.EXTERNAL_POSITION_CHANGE).exists()

    # A reconnect replays open orders and today's executions: still one fill, still one order row.
    paper_gateway.drop_connections()
    wait_until(lambda: ib_worker.worker.connects == 2 and ib_worker.worker.synced, what="the worker to reconnect")
    ib_worker.flush()
    assert Fill.objects.count() == 1 and Order.objects.count() == 1


def test_a_fill_during_a_gateway_restart_is_recovered_exactly_once(paper_gateway, ib_worker):
    paper_gateway.set_price("QQQ", 300.0)
    trade = place_limit(ib_worker, "QQQ", "SELL", 5, 301.0, owner="spy_macd_vixy")
    order_id = trade.order.orderId
    wait_until(lambda: order_status(order_id) == "Submitted", what="the resting order")

    paper_gateway.restart(downtime=1.5)
    wait_until(lambda: not ib_worker.worker.synced, what="the worker to see the drop")
    paper_gateway.set_price("QQQ", 302.0)  # fills while the gateway is "down"
    wait_until(lambda: any(e["con_id"] == 320227571 for e in paper_gateway.executions()), what="the fill at the gateway")

    wait_until(lambda: ib_worker.worker.connects == 2 and ib_worker.worker.synced, timeout=30, what="reconnect")
    ib_worker.flush()
    assert Fill.objects.filter(symbol="QQQ").count() == 1
    assert order_status(order_id) == "Filled"
    assert Holding.objects.get(strategy="spy_macd_vixy").quantity == -5
    story = list(ActivityEntry.objects.order_by("id").values_list("kind", "message"))
    messages = " | ".join(m for _, m in story)
    assert "connection to the gateway lost" in messages
    assert "1 fill(s) recovered" in messages
    assert [k for k, _ in story].count(ActivityKind.FILL) == 1
    assert not ActivityEntry.objects.filter(kind=ActivityKind.EXTERNAL_POSITION_CHANGE).exists()


def test_a_position_changed_outside_the_console_is_detected(paper_gateway, ib_worker):
    paper_gateway.external_trade("AAPL", 7)
    entry = wait_until(
        lambda: ActivityEntry.objects.filter(kind=ActivityKind.EXTERNAL_POSITION_CHANGE).first(),
        what="an external position change entry",
    )
    assert entry.payload["symbol"] == "AAPL" and Decimal(entry.payload["delta"]) == 7
    assert Position.objects.get(symbol="AAPL").quantity == 7


def test_an_external_change_while_disconnected_is_found_at_reconnect(paper_gateway, ib_worker):
    paper_gateway.restart(downtime=1.0)
    wait_until(lambda: not ib_worker.worker.synced, what="the drop")
    paper_gateway.external_trade("MSFT", -3, with_execution=False)
    wait_until(lambda: ib_worker.worker.connects == 2 and ib_worker.worker.synced, timeout=30, what="reconnect")
    ib_worker.flush()
    entry = ActivityEntry.objects.get(kind=ActivityKind.EXTERNAL_POSITION_CHANGE)
    assert entry.payload["symbol"] == "MSFT" and entry.payload["context"] == "reconnect"


class HoldAfterReconcile:
    """An extension whose on_connected waits for the test: the worker has taken its reconcile snapshot
    and not yet finished connecting (the orphan sweep's place; a standby under load spends ~1 s there)."""

    def __init__(self):
        self.entered, self.release = threading.Event(), threading.Event()

    async def on_connected(self, worker) -> None:
        self.entered.set()
        while not self.release.is_set():
            await asyncio.sleep(0.01)

    async def on_stop(self, worker) -> None:
        self.release.set()


def test_a_fill_arriving_after_the_reconcile_snapshot_and_before_runs_are_accepted_is_recorded(
    paper_gateway, redis_url, tmp_path
):
    hold = HoldAfterReconcile()
    worker = WorkerThread(port=paper_gateway.port, var_dir=tmp_path, handler_paths=[], extensions=[hold]).start()
    try:
        wait_until(hold.entered.is_set, what="the worker between its snapshot and accepting runs")
        paper_gateway.set_price("SPY", 100.0)
        place_limit(worker, "SPY", "BUY", 3, 101.0)  # marketable: filled at once
        wait_until(paper_gateway.executions, what="the fill at the gateway")
        exec_id = paper_gateway.executions()[0]["exec_id"]
        wait_until(lambda: any(f.execution.execId == exec_id for f in worker.worker.ib.fills()), what="the fill at the worker")
        assert not worker.worker.synced
        hold.release.set()
        worker.wait_connected()

        assert list(Fill.objects.values_list("exec_id", flat=True)) == [exec_id]
    finally:
        hold.release.set()
        worker.stop()
