"""GET /api/config and the two switches staff may flip from a script, recorded in the activity log."""

import pytest
from django.test import Client

from tests.api.conftest import BearerClient
from trading.api import errors
from trading.config import effective_config
from trading.models import ActivityEntry, ActivityKind, ConfigScope, TradingConfig
from trading.tokens import token_create

pytestmark = pytest.mark.django_db

KILL = "/api/config/kill-switch"
SOFT = "/api/config/soft-stop"


def test_it_shows_the_settings_in_force(bob_api):
    body = bob_api.get("/api/config").json()
    assert body["mode"] == "paper" and body["trading_enabled"] is False and body["overall_exposure"] == "0.9000"


def test_staff_turn_trading_on_and_the_change_is_recorded_with_who_and_where(alice, alice_api):
    response = alice_api.post_json(KILL, {"trading_enabled": True})
    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == "common" and body["trading_enabled"] is True and body["masked_by"] is None
    assert body["effective"]["trading_enabled"] is True
    assert effective_config().trading_enabled is True
    entry = ActivityEntry.objects.get(kind=ActivityKind.CONFIG_CHANGE)
    assert entry.actor == alice and entry.payload["source"] == "api"
    assert entry.payload["changes"] == {"trading_enabled": {"from": False, "to": True}}


def test_the_answer_says_when_the_active_modes_own_switch_masks_the_common_one(alice_api):
    TradingConfig.objects.filter(scope=ConfigScope.COMMON).update(active_mode="live")
    body = alice_api.post_json(KILL, {"trading_enabled": True}).json()
    assert body["trading_enabled"] is True and body["masked_by"] == "live"
    assert body["effective"]["mode"] == "live" and body["effective"]["trading_enabled"] is False  # live's own switch is off
    live = alice_api.post_json(KILL, {"trading_enabled": True, "scope": "live"}).json()
    assert live["masked_by"] is None and live["effective"]["trading_enabled"] is True


def test_soft_stop_is_flipped_the_same_way(alice_api):
    body = alice_api.post_json(SOFT, {"soft_stop": True, "scope": "paper"}).json()
    assert body["scope"] == "paper" and body["soft_stop"] is True and body["effective"]["soft_stop"] is True
    assert ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE, payload__scope="paper").exists()


def test_plain_users_cannot_flip_switches(bob_api):
    response = bob_api.post_json(KILL, {"trading_enabled": True})
    assert response.status_code == 403
    assert response.json() == {"error": errors.FORBIDDEN, "detail": errors.MSG_STAFF_ONLY}
    assert effective_config().trading_enabled is False


def test_a_read_only_staff_token_cannot_flip_switches(alice):
    response = BearerClient(token_create(user=alice, name="ro", read_only=True)[1]).post_json(KILL, {"trading_enabled": True})
    assert response.status_code == 403 and response.json()["detail"] == errors.MSG_READ_ONLY


@pytest.mark.parametrize(
    "body", [{"trading_enabled": True, "scope": "demo"}, {"tradingEnabled": True}, {}, {"trading_enabled": None}]
)
def test_a_bad_switch_body_is_a_422(alice_api, body):
    assert alice_api.post_json(KILL, body).status_code == 422
    assert effective_config().trading_enabled is False


def test_staff_flip_the_switch_from_the_dashboard_with_csrf(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.cookies["csrftoken"] = "c" * 32
    response = browser.post(KILL, {"trading_enabled": True}, content_type="application/json", headers={"X-CSRFToken": "c" * 32})
    assert response.status_code == 200
    assert ActivityEntry.objects.get(kind=ActivityKind.CONFIG_CHANGE).payload["source"] == "dashboard"
