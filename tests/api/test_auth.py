"""Who may call what: tokens, sessions, read-only tokens, and the one endpoint without auth."""

import pytest
from django.test import Client

from tests.api.conftest import BearerClient
from trading.api import errors
from trading.models import ApiToken, IntentRun

pytestmark = pytest.mark.django_db

READ_ENDPOINTS = [
    "/api/intents",
    "/api/runs",
    "/api/summary",
    "/api/orders",
    "/api/fills",
    "/api/positions",
    "/api/activity",
    "/api/config",
    "/api/worker",
    "/api/me",
]


@pytest.mark.parametrize("path", READ_ENDPOINTS)
def test_every_endpoint_but_health_refuses_anonymous_callers(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.json() == {"error": errors.UNAUTHORIZED, "detail": errors.MSG_NOT_AUTHENTICATED}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_anonymous_callers_cannot_submit_intents(client, live_worker):
    response = client.post("/api/intents/close_all", {}, content_type="application/json")
    assert response.status_code == 401
    assert not IntentRun.objects.exists()


def test_health_answers_without_auth(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "worker_connected": False}


@pytest.mark.parametrize("path", READ_ENDPOINTS)
def test_a_token_reads_every_endpoint(bob_api, path):
    assert bob_api.get(path).status_code == 200


def test_a_read_only_token_reads_but_cannot_submit(charlie_read_api, live_worker):
    assert charlie_read_api.get("/api/runs").status_code == 200
    response = charlie_read_api.post_json("/api/intents/close_all", {"dryRun": True})
    assert response.status_code == 403
    assert response.json() == {"error": errors.FORBIDDEN, "detail": errors.MSG_READ_ONLY}
    assert not IntentRun.objects.exists()


@pytest.mark.parametrize("token", ["ibc_not-a-real-token", "garbage", ""])
def test_an_unknown_token_is_a_401_and_never_falls_back_to_the_session(bob, token):
    client = BearerClient(token)
    client.force_login(bob)
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"] == errors.UNAUTHORIZED


def test_a_revoked_token_is_a_401(charlie_revoked_token):
    response = BearerClient(charlie_revoked_token).get("/api/me")
    assert response.status_code == 401
    assert response.json() == {"error": errors.UNAUTHORIZED, "detail": errors.MSG_INVALID_TOKEN}


def test_the_token_of_a_deactivated_user_is_a_401(bob, bob_api):
    bob.is_active = False
    bob.save()
    assert bob_api.get("/api/me").status_code == 401


def test_a_token_use_is_recorded(bob, bob_api):
    bob_api.get("/api/me")
    assert ApiToken.objects.get(user=bob).last_used_at is not None


def test_me_tells_the_caller_who_they_are(charlie_read_api, alice_client):
    assert charlie_read_api.get("/api/me").json() == {
        "username": "charlie",
        "is_staff": False,
        "via": "token",
        "token_name": "charlie-monitor",
        "read_only": True,
    }
    assert alice_client.get("/api/me").json()["via"] == "session"


def test_a_logged_in_browser_reads_with_its_session(alice_client):
    assert alice_client.get("/api/orders").status_code == 200


def test_the_docs_need_a_login_or_a_token(client, bob, bob_api):
    assert client.get("/api/openapi.json").status_code == 401
    browser = client.get("/api/docs", headers={"Accept": "text/html"})
    assert browser.status_code == 302 and "login" in browser["Location"]
    assert BearerClient("ibc_wrong").get("/api/openapi.json").status_code == 401
    schema = bob_api.get("/api/openapi.json").json()
    assert "/api/intents/{name}" in schema["paths"]
    logged_in = Client()
    logged_in.force_login(bob)
    assert logged_in.get("/api/docs").status_code == 200
