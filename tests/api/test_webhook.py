"""POST /api/webhook: alerts from senders that cannot set headers; enqueue only, de-duplicated by alert id."""

import json
import time

import pytest

from tests.api.conftest import run_finish_now
from trading.api import errors
from trading.models import IntentRun, RunSource, RunStatus

pytestmark = pytest.mark.django_db

URL = "/api/webhook"


def alert(token, alert_id="tv-SPY-1", intent="close_all", params=None) -> dict:
    return {"token": token, "intent": intent, "alert_id": alert_id, "params": params or {"dryRun": True}}


def test_an_alert_queues_a_run_at_once(client, bob, bob_token, live_worker):
    started = time.monotonic()
    response = client.post(f"{URL}?wait=30", alert(bob_token), content_type="application/json")
    assert time.monotonic() - started < 1.0, "a webhook never waits for the outcome"
    assert response.status_code == 202
    run = IntentRun.objects.get()
    assert (run.intent, run.source, run.requested_by, run.dry_run) == ("close_all", RunSource.WEBHOOK, bob, True)
    assert response.json()["id"] == run.pk and run.status == RunStatus.QUEUED


def test_tradingview_sends_json_as_text_plain(client, bob_token, live_worker):
    response = client.post(URL, json.dumps(alert(bob_token)), content_type="text/plain; charset=utf-8")
    assert response.status_code == 202


def test_a_repeated_alert_id_returns_the_same_run(client, bob_token, live_worker):
    first = client.post(URL, alert(bob_token), content_type="application/json").json()
    again = client.post(URL, alert(bob_token), content_type="application/json")
    assert again.json()["id"] == first["id"] and IntentRun.objects.count() == 1
    run_finish_now(first["id"], result={"sent": False})
    finished = client.post(URL, alert(bob_token), content_type="application/json")
    assert finished.status_code == 200 and finished.json()["result"] == {"sent": False}


def test_another_alert_id_is_another_run(client, bob_token, live_worker):
    client.post(URL, alert(bob_token, alert_id="a"), content_type="application/json")
    client.post(URL, alert(bob_token, alert_id="b"), content_type="application/json")
    assert IntentRun.objects.count() == 2


def test_an_alert_id_does_not_collide_with_an_api_idempotency_key(client, bob_token, bob_api, live_worker):
    client.post(URL, alert(bob_token, alert_id="k1"), content_type="application/json")
    bob_api.post_json("/api/intents/close_all", {"dryRun": True}, headers={"Idempotency-Key": "k1"})
    assert IntentRun.objects.count() == 2


def test_a_wrong_token_is_a_401(client, live_worker):
    response = client.post(URL, alert("ibc_wrong"), content_type="application/json")
    assert response.status_code == 401
    assert response.json() == {"error": errors.UNAUTHORIZED, "detail": errors.MSG_INVALID_TOKEN}
    assert not IntentRun.objects.exists()


def test_a_read_only_token_cannot_trade_from_an_alert(client, charlie_read_token, live_worker):
    response = client.post(URL, alert(charlie_read_token), content_type="application/json")
    assert response.status_code == 403 and response.json()["detail"] == errors.MSG_READ_ONLY


@pytest.mark.parametrize("drop", ["alert_id", "token", "intent"])
def test_a_missing_field_is_a_422(client, bob_token, live_worker, drop):
    body = alert(bob_token)
    del body[drop]
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 422 and response.json()["errors"][0]["loc"][-1] == drop


def test_a_misspelt_field_is_a_422_rather_than_ignored(client, bob_token, live_worker):
    body = {**alert(bob_token), "param": {"dryRun": False}}
    assert client.post(URL, body, content_type="application/json").status_code == 422


def test_an_unknown_intent_and_a_down_worker_answer_in_the_error_shape(client, bob_token):
    assert (
        client.post(URL, alert(bob_token, intent="nope"), content_type="application/json").json()["error"]
        == errors.UNKNOWN_INTENT
    )
    down = client.post(URL, alert(bob_token), content_type="application/json")
    assert down.status_code == 503 and down.json()["error"] == errors.WORKER_UNAVAILABLE


# --- TradingView alerts that trade: the documented place_order template -------------------------

TRADINGVIEW_TEMPLATE = """{{"token": "{token}", "alert_id": "{alert_id}", "intent": "place_order",
 "params": {{"symbol": "AAPL", "action": "buy", "quantity": "10"}}}}
"""  # the docs' template after TradingView filled in {{ticker}}, {{strategy.order.action}}, …


def tradingview_post(client, token, alert_id="17-2026-11-21T15:45:00Z", path=URL):
    body = TRADINGVIEW_TEMPLATE.format(token=token, alert_id=alert_id)
    return client.post(path, body, content_type="text/plain; charset=utf-8")


def test_a_tradingview_alert_as_text_plain_queues_one_place_order_run(client, bob, bob_token, live_worker):
    started = time.monotonic()
    response = tradingview_post(client, bob_token, path=f"{URL}?wait=30")
    assert time.monotonic() - started < 1.0, "TradingView gives up after 3 s: the webhook only enqueues"
    assert response.status_code == 202
    run = IntentRun.objects.get()
    assert (run.intent, run.source, run.requested_by) == ("place_order", RunSource.WEBHOOK, bob)
    assert "AAPL" in run.params.values()


def test_a_tradingview_alert_delivered_twice_places_one_order_run(client, bob_token, live_worker):
    first = tradingview_post(client, bob_token).json()
    again = tradingview_post(client, bob_token)
    assert again.json()["id"] == first["id"]
    assert IntentRun.objects.filter(intent="place_order").count() == 1


def test_each_tradingview_firing_is_its_own_run(client, bob_token, live_worker):
    tradingview_post(client, bob_token, alert_id="17-2026-11-21T15:45:00Z")
    tradingview_post(client, bob_token, alert_id="18-2026-11-21T15:50:00Z")
    assert IntentRun.objects.filter(intent="place_order").count() == 2


def test_the_same_alert_as_json_is_de_duplicated_with_the_text_plain_one(client, bob_token, live_worker):
    tradingview_post(client, bob_token, alert_id="a-1")
    body = json.loads(TRADINGVIEW_TEMPLATE.format(token=bob_token, alert_id="a-1"))
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code in (200, 202) and IntentRun.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        '{"token": "ibc_x", "intent": "place_order", ',  # cut short
        "buy AAPL 10",  # a plain-text alert message, not the template
        '["place_order"]',
        "",
    ],
)
def test_a_text_plain_body_that_is_not_the_template_is_a_4xx_in_the_error_shape(client, live_worker, body):
    response = client.post(URL, body, content_type="text/plain")
    assert response.status_code in (400, 422)
    assert response.json()["error"] in (errors.BAD_REQUEST, errors.VALIDATION_ERROR)
    assert not IntentRun.objects.exists()


def test_a_tradingview_order_with_a_bad_field_is_a_422_naming_it(client, bob_token, live_worker):
    body = alert(bob_token, intent="place_order", params={"symbol": "AAPL", "action": "buy", "quantity": "lots"})
    response = client.post(URL, json.dumps(body), content_type="text/plain")
    assert response.status_code == 422 and response.json()["error"] == errors.INVALID_PARAMS
    assert "quantity" in response.json()["detail"]
    assert not IntentRun.objects.exists()
