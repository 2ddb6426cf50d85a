"""GET /api/config and the two switches staff may set from a script, recorded in the activity log."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.api.conftest import BearerClient
from trading.api import errors
from trading.api.auth import MSG_NO_PERMISSION
from trading.config import CHANGE_SETTINGS, config_update, effective_config
from trading.models import ActivityEntry, ActivityKind, ConfigScope, TradingConfig
from trading.tokens import token_create

pytestmark = pytest.mark.django_db

KILL = "/api/config/kill-switch"
SOFT = "/api/config/soft-stop"


@pytest.fixture
def dave(django_user_model):
    """Staff, but with no permissions: may log in to the admin, may not change settings."""
    return django_user_model.objects.create_user("dave", "dave@example.com", "dave-password-1", is_staff=True)


def rows() -> list[dict]:
    return list(TradingConfig.objects.order_by("pk").values())


def test_it_shows_the_settings_in_force(bob_api):
    body = bob_api.get("/api/config").json()
    assert body["mode"] == "paper" and body["trading_enabled"] is False and body["overall_exposure"] == "0.9000"
    assert (body["kill_switch_by"], body["soft_stop_by"]) == (["common"], [])


def test_staff_turn_trading_on_and_the_change_is_recorded_with_who_and_where(alice, alice_api):
    response = alice_api.post_json(KILL, {"trading_enabled": True})
    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == "common" and body["trading_enabled"] is True and body["in_force"] is True
    assert body["effective"]["trading_enabled"] is True and body["kill_switch_by"] == []
    assert body["message"] == "common settings now allow trading; in force for paper mode: " + (
        "trading is on in paper mode (no kill switch, no soft stop)"
    )
    assert effective_config().trading_enabled is True
    entry = ActivityEntry.objects.get(kind=ActivityKind.CONFIG_CHANGE)
    assert entry.actor == alice and entry.payload["source"] == "api"
    assert entry.payload["changes"] == {"trading_enabled": {"from": False, "to": True}}


def test_a_stop_written_to_common_stops_trading_even_when_the_paper_row_allows_it(alice_api):
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True})
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": True})
    response = alice_api.post_json(KILL, {"trading_enabled": False, "scope": "common"})  # the call docs/API.md gives
    assert response.status_code == 200
    body = response.json()
    assert "masked_by" not in body
    assert (body["in_force"], body["kill_switch_by"], body["effective"]["trading_enabled"]) == (True, ["common"], False)
    assert body["message"] == (
        "common settings now stop trading; in force for paper mode: trading is stopped by the common settings (kill switch)"
    )
    assert effective_config().trading_enabled is False


def test_a_resume_while_another_row_still_stops_says_plainly_that_trading_is_still_stopped_and_by_which_row(alice_api):
    TradingConfig.objects.filter(scope=ConfigScope.COMMON).update(active_mode="live")
    body = alice_api.post_json(KILL, {"trading_enabled": True}).json()
    assert (body["trading_enabled"], body["in_force"], body["kill_switch_by"]) == (True, False, ["live"])
    assert body["message"] == "common settings now allow trading, but trading is stopped by the live settings (kill switch)"
    assert body["effective"]["mode"] == "live" and body["effective"]["trading_enabled"] is False
    live = alice_api.post_json(KILL, {"trading_enabled": True, "scope": "live"}).json()
    assert (live["in_force"], live["kill_switch_by"], live["effective"]["trading_enabled"]) == (True, [], True)


def test_a_stop_on_a_mode_that_is_not_active_says_it_is_not_in_force(alice_api):
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True})
    body = alice_api.post_json(KILL, {"trading_enabled": False, "scope": "live"}).json()
    assert (body["in_force"], body["effective"]["trading_enabled"]) == (False, True)
    assert body["message"].startswith("live settings now stop trading, but live is not the active mode: trading is on")


def test_a_repeated_request_is_harmless(alice_api):
    first = alice_api.post_json(KILL, {"trading_enabled": False, "scope": "paper"}).json()
    again = alice_api.post_json(KILL, {"trading_enabled": False, "scope": "paper"}).json()
    assert first == again and again["kill_switch_by"] == ["common", "paper"]
    assert ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE).count() == 1


def test_soft_stop_is_flipped_the_same_way(alice_api):
    body = alice_api.post_json(SOFT, {"soft_stop": True, "scope": "paper"}).json()
    assert body["scope"] == "paper" and body["soft_stop"] is True and body["effective"]["soft_stop"] is True
    assert (body["soft_stop_by"], body["in_force"]) == (["paper"], True)
    common_off = alice_api.post_json(SOFT, {"soft_stop": False, "scope": "common"}).json()
    assert (common_off["in_force"], common_off["soft_stop_by"]) == (False, ["paper"])  # paper still holds it
    assert ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE, payload__scope="paper").exists()


def test_plain_users_cannot_flip_switches(bob_api):
    response = bob_api.post_json(KILL, {"trading_enabled": True})
    assert response.status_code == 403
    assert response.json() == {"error": errors.FORBIDDEN, "detail": errors.MSG_STAFF_ONLY}
    assert effective_config().trading_enabled is False


@pytest.mark.parametrize(("path", "body"), [(KILL, {"trading_enabled": True, "scope": "live"}), (SOFT, {"soft_stop": True})])
def test_a_staff_user_without_the_settings_permission_cannot_set_a_switch_with_a_token_or_a_session(dave, path, body):
    before = rows()
    session = Client()
    session.force_login(dave)
    for client in (BearerClient(token_create(user=dave, name="script")[1]), session):
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 403
        assert response.json() == {"error": errors.FORBIDDEN, "detail": MSG_NO_PERMISSION.format(perm=CHANGE_SETTINGS)}
    assert rows() == before and not ActivityEntry.objects.exists()


def test_a_staff_user_given_the_settings_permission_can_set_a_switch(dave):
    dave.user_permissions.add(Permission.objects.get(codename="change_tradingconfig"))
    response = BearerClient(token_create(user=dave, name="script")[1]).post_json(KILL, {"trading_enabled": True, "scope": "live"})
    assert response.status_code == 200 and TradingConfig.objects.get(scope=ConfigScope.LIVE).trading_enabled is True


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


@pytest.fixture
def two_accounts(db):
    from trading.models import IBConnection

    IBConnection.objects.create(name="one", port=4002, client_id=11, accounts=["DU1"])
    IBConnection.objects.create(name="two", port=4002, client_id=12, accounts=["DU2"])
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True})


def test_staff_stop_one_account_and_the_answer_names_its_row(alice, alice_api, two_accounts):
    body = alice_api.post_json(KILL, {"trading_enabled": False, "account": "DU2"}).json()
    assert (body["scope"], body["account"], body["trading_enabled"], body["in_force"]) == ("account", "DU2", False, True)
    assert body["kill_switch_by"] == ["account DU2"] and body["effective"]["account"] == "DU2"
    assert body["message"].startswith("account DU2 settings now stop trading; in force for paper mode: trading is stopped")
    assert effective_config(account="DU1").trading_enabled is True
    entry = ActivityEntry.objects.get(kind=ActivityKind.CONFIG_CHANGE, payload__account="DU2")
    assert entry.actor == alice and entry.message.startswith("alice changed account DU2 settings")
    shown = alice_api.get("/api/config?account=DU2").json()
    assert (shown["trading_enabled"], shown["kill_switch_by"]) == (False, ["account DU2"])
    soft = alice_api.post_json(SOFT, {"soft_stop": True, "scope": "account", "account": "DU1"}).json()
    assert (soft["account"], soft["soft_stop_by"]) == ("DU1", ["account DU1"])


@pytest.mark.parametrize(
    ("body", "code", "detail"),
    [
        ({"trading_enabled": False, "account": "DU9"}, "unknown_account", "unknown account 'DU9'"),
        ({"trading_enabled": False, "scope": "account"}, "bad_request", "the account scope needs an account"),
        ({"trading_enabled": False, "scope": "live", "account": "DU1"}, "bad_request", "an account is set on its own row"),
    ],
)
def test_a_bad_account_is_a_400_and_changes_nothing(alice_api, two_accounts, body, code, detail):
    before = rows()
    response = alice_api.post_json(KILL, body)
    assert response.status_code == 400 and response.json()["error"] == code and detail in response.json()["detail"]
    assert rows() == before
    assert alice_api.get("/api/config?account=DU9").status_code == 400
