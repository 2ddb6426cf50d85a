"""A TradingView strategy alert, as TradingView sends it (the docs' template, text/plain), places exactly
one order at the gateway per alert id, through the real worker — however often the alert is delivered."""

import pytest
from django.test import Client

from tests.api.test_webhook import TRADINGVIEW_TEMPLATE
from tests.harness import wait_until
from tests.intents.conftest import gateway_positions
from trading.models import IntentRun, Order, OrderStatus, RunStatus
from trading.tokens import token_create

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.paper_gateway(tick_interval=0)]


def alert(token: str, alert_id: str):
    body = TRADINGVIEW_TEMPLATE.format(token=token, alert_id=alert_id)
    return Client().post("/api/webhook", body, content_type="text/plain; charset=utf-8")


def test_an_alert_delivered_twice_places_one_order_and_a_new_alert_id_another(
    paper_gateway, console_worker, trading_enabled, alice
):
    token = token_create(user=alice, name="tradingview")[1]

    first, again = alert(token, "17-2026-11-30T15:45:00Z"), alert(token, "17-2026-11-30T15:45:00Z")

    assert (first.status_code, again.status_code) == (202, 202) and first.json()["id"] == again.json()["id"]
    wait_until(lambda: gateway_positions(paper_gateway) == {"AAPL": 10}, what="the alert's order filled")
    assert alert(token, "18-2026-11-30T15:50:00Z").status_code == 202
    wait_until(lambda: gateway_positions(paper_gateway) == {"AAPL": 20}, what="the second alert's order filled")
    sent = [o for o in paper_gateway.orders() if o["client_id"] == 1]
    assert [(o["action"], o["total_quantity"]) for o in sent] == [("BUY", 10), ("BUY", 10)]
    wait_until(
        lambda: set(IntentRun.objects.values_list("status", flat=True)) == {RunStatus.SUCCEEDED}, what="both runs done"
    )
    assert Order.objects.filter(status=OrderStatus.FILLED).count() == 2
