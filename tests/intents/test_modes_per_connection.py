"""Modes per connection: a worker trades under the common rows plus its own connection's mode's row,
whatever the console's active mode (which is only the dashboard's default view).

A live-mode worker is pointed at the paper gateway here: the gateway does not care, and the test is
about which settings rows the order gateway reads, not about the market.
"""

import pytest

from tests.harness import WorkerThread, wait_until
from tests.intents.conftest import _heartbeat_connected, gateway_positions, submit_and_wait
from tests.intents.test_framework import BuyForTest  # noqa: F401  (registers test_buy)
from trading.api.submission import order_open_get
from trading.config import active_mode, config_update
from trading.intents.executor import IntentExecutor
from trading.models import DEFAULT_CONNECTION, ConfigScope, IBConnection, Order, OrderStatus, RunStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _worker(paper_gateway, tmp_path, mode: str) -> WorkerThread:
    worker = WorkerThread(
        port=paper_gateway.port, var_dir=tmp_path, handler_paths=[], mode=mode,
        extensions=[IntentExecutor(sweep_interval=0.1)],
    ).start()  # fmt: skip
    worker.wait_connected()
    wait_until(_heartbeat_connected, what="a connected heartbeat")
    return worker


@pytest.mark.parametrize(("mode", "other"), [("live", "paper"), ("paper", "live")])
def test_a_connections_orders_follow_its_own_modes_row_not_the_active_mode(
    paper_gateway, redis_url, transactional_db, tmp_path, trading_enabled, mode, other
):
    assert active_mode() == "paper"  # the dashboard's default view stays paper throughout
    # The other mode's row stops trading: it must not stop this connection (live is seeded stopped).
    config_update(scope=mode, changes={"trading_enabled": True})
    config_update(scope=other, changes={"trading_enabled": False})
    worker = _worker(paper_gateway, tmp_path, mode)
    try:
        run = submit_and_wait("test_buy", {"quantity": 2})
        assert run.status == RunStatus.SUCCEEDED, run.error
        wait_until(lambda: gateway_positions(paper_gateway).get("SPY") == 2, what="the order to fill at the gateway")
        assert Order.objects.get(run=run).mode == mode
        # Its own mode's row stops it, at the very next order.
        config_update(scope=mode, changes={"trading_enabled": False})
        run = submit_and_wait("test_buy", {"quantity": 2})
        assert run.status == RunStatus.FAILED and "kill switch" in run.error
        refused = Order.objects.get(run=run)
        assert (refused.status, refused.mode) == (OrderStatus.REFUSED, mode)
        assert gateway_positions(paper_gateway).get("SPY") == 2
    finally:
        worker.stop()


def test_the_common_row_stops_every_connection(paper_gateway, redis_url, transactional_db, tmp_path, trading_enabled):
    config_update(scope=ConfigScope.LIVE, changes={"trading_enabled": True})
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": False})
    worker = _worker(paper_gateway, tmp_path, "live")
    try:
        run = submit_and_wait("test_buy", {"quantity": 1})
        assert run.status == RunStatus.FAILED and "kill switch" in run.error
        assert paper_gateway.orders() == []
    finally:
        worker.stop()


@pytest.mark.paper_gateway(tick_interval=0)
def test_a_live_connections_resting_order_is_cancelled_while_the_console_shows_paper(
    paper_gateway, redis_url, transactional_db, tmp_path, trading_enabled
):
    assert active_mode() == "paper"
    assert IBConnection.objects.filter(name=DEFAULT_CONNECTION).update(mode="live") == 1
    config_update(scope="live", changes={"trading_enabled": True})
    worker = _worker(paper_gateway, tmp_path, "live")
    try:
        paper_gateway.set_price("SPY", 100)
        placed = submit_and_wait(
            "place_order", {"symbol": "SPY", "action": "BUY", "quantity": 3, "limit_price": 90}, dry_run=False
        )
        assert placed.status == RunStatus.SUCCEEDED, placed.error
        row = Order.objects.get(run=placed)
        assert row.mode == "live" and [o["order_id"] for o in paper_gateway.open_orders()] == [row.order_id]

        order, route = order_open_get(row.pk)  # the API's check: open, and its connection trades live
        assert (order, route.refusal) == (row, None)
        run = submit_and_wait("cancel_order", {"order": row.pk}, dry_run=False)

        assert run.status == RunStatus.SUCCEEDED, run.error
        assert paper_gateway.open_orders() == []
        wait_until(lambda: Order.objects.get(pk=row.pk).status == OrderStatus.CANCELLED, what="the row cancelled")
    finally:
        worker.stop()
