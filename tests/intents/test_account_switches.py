"""The per-account kill switch, soft stop and limits at the one order gateway, through the real worker
and the paper gateway (account DU1234567): another account's row changes nothing for it."""

import pytest

from tests.harness import wait_until
from tests.intents.conftest import gateway_positions, submit_and_wait
from tests.intents.test_framework import BuyForTest  # noqa: F401  (registers test_buy)
from trading.config import config_update, switch_set
from trading.models import ActivityEntry, ActivityKind, ConfigScope, IBConnection, Order, OrderStatus, RunStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

GATEWAY_ACCOUNT = "DU1234567"  # what the paper gateway manages (trading/ibsim/config.py)
OTHER = "DU2"


@pytest.fixture
def accounts(transactional_db):
    """The worker's (default) connection trades the gateway's account; another connection lists DU2 (it
    is disabled: runs route to no worker of it, but its account may have a settings row)."""
    IBConnection.objects.filter(name="default").update(accounts=[GATEWAY_ACCOUNT])
    IBConnection.objects.create(name="other", port=4999, client_id=22, accounts=[OTHER], enabled=False)


def test_an_accounts_kill_switch_stops_its_orders_and_not_another_accounts(
    paper_gateway, console_worker, trading_enabled, accounts
):
    switch_set(switch="kill_switch", on=True, account=OTHER, source="test")
    run = submit_and_wait("test_buy", {"quantity": 2})
    assert run.status == RunStatus.SUCCEEDED, run.error
    wait_until(lambda: gateway_positions(paper_gateway).get("SPY") == 2, what="the order to fill at the gateway")

    switch_set(switch="kill_switch", on=True, account=GATEWAY_ACCOUNT, source="test")
    run = submit_and_wait("test_buy", {"quantity": 2})
    assert run.status == RunStatus.FAILED and "kill switch" in run.error
    refused = Order.objects.get(run=run)
    assert refused.status == OrderStatus.REFUSED and "kill switch" in refused.last_error
    assert ActivityEntry.objects.filter(kind=ActivityKind.ORDER_REFUSED, run=run).exists()
    assert len(paper_gateway.orders()) == 1  # only the first order ever reached the gateway

    switch_set(switch="kill_switch", on=False, account=GATEWAY_ACCOUNT, source="test")
    run = submit_and_wait("test_buy", {"quantity": 1})
    assert run.status == RunStatus.SUCCEEDED, run.error


def test_an_accounts_soft_stop_and_limits_hold_at_the_gateway(paper_gateway, console_worker, trading_enabled, accounts):
    config_update(scope=ConfigScope.ACCOUNT, account=GATEWAY_ACCOUNT, changes={"max_order_quantity": 3})
    config_update(scope=ConfigScope.ACCOUNT, account=OTHER, changes={"max_order_quantity": 1, "soft_stop": True})
    run = submit_and_wait("test_buy", {"quantity": 5})
    assert run.status == RunStatus.FAILED and "maximum order quantity 3" in run.error
    run = submit_and_wait("test_buy", {"quantity": 3})
    assert run.status == RunStatus.SUCCEEDED, run.error
    switch_set(switch="soft_stop", on=True, account=GATEWAY_ACCOUNT, source="test")
    run = submit_and_wait("test_buy", {"quantity": 1})
    assert run.status == RunStatus.FAILED and "soft stop" in run.error
    wait_until(lambda: gateway_positions(paper_gateway).get("SPY") == 3, what="only the allowed order filled")
