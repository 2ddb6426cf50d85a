"""/api/orders: place (POST), look at (GET one), change (PATCH) and cancel (DELETE) one order.

They are the place_order, modify_order and cancel_order intents underneath; the worker is played here
(run_finish_now, Order rows written as the order gateway would), so these tests check the HTTP side.
"""

import pytest

from tests.api.conftest import run_finish_now
from tests.api.factories import order_make
from trading.api import errors, submission
from trading.config import active_mode
from trading.intents import runs
from trading.models import IBConnection, IntentRun, OrderStatus, RunSource, RunStatus

pytestmark = pytest.mark.django_db

URL = "/api/orders"
LIMIT_BUY = {"symbol": "AAPL", "action": "BUY", "quantity": "10", "order_type": "LMT", "limit_price": "190.5"}


def test_placing_an_order_queues_a_place_order_run_and_answers_202_with_no_orders_yet(bob, bob_api, live_worker):
    response = bob_api.post_json(URL, {**LIMIT_BUY, "dryRun": True})
    assert response.status_code == 202
    body = response.json()
    run = IntentRun.objects.get()
    assert (run.intent, run.source, run.requested_by, run.dry_run) == ("place_order", RunSource.API, bob, True)
    assert body["run"]["id"] == run.pk and body["run"]["status"] == RunStatus.QUEUED
    assert body["orders"] == []


def test_camel_case_names_and_numbers_as_numbers_are_accepted(bob_api, live_worker):
    body = {"symbol": "AAPL", "action": "buy", "quantity": 10, "orderType": "LMT", "limitPrice": 190.5, "tif": "GTC"}
    assert bob_api.post_json(URL, body).status_code == 202


def test_the_same_idempotency_key_returns_the_same_run_with_the_orders_it_placed(bob_api, live_worker):
    key = {"Idempotency-Key": "aapl-bracket-1"}
    bracket = {**LIMIT_BUY, "take_profit": "200", "stop_loss": "180"}
    first = bob_api.post_json(URL, bracket, headers=key).json()
    run_id = first["run"]["id"]
    parent = order_make(symbol="AAPL", run_id=run_id, order_type="LMT", status=OrderStatus.SUBMITTED)
    children = [order_make(symbol="AAPL", run_id=run_id, action="SELL", status=OrderStatus.PRE_SUBMITTED) for _ in range(2)]
    run_finish_now(run_id, result={"orders": []})
    again = bob_api.post_json(URL, bracket, headers=key)
    assert again.status_code == 200 and again.json()["run"]["id"] == run_id
    assert [order["id"] for order in again.json()["orders"]] == [parent.pk, *(child.pk for child in children)]
    assert IntentRun.objects.count() == 1


def test_the_same_idempotency_key_with_another_order_is_a_409(bob_api, live_worker):
    key = {"Idempotency-Key": "k-1"}
    bob_api.post_json(URL, LIMIT_BUY, headers=key)
    response = bob_api.post_json(URL, {**LIMIT_BUY, "quantity": "11"}, headers=key)
    assert response.status_code == 409 and response.json()["error"] == errors.IDEMPOTENCY_CONFLICT


def test_waiting_for_an_order_that_does_not_finish_is_a_504_naming_the_run(bob_api, live_worker):
    response = bob_api.post_json(f"{URL}?wait=0.05", LIMIT_BUY)
    assert response.status_code == 504
    assert response.json()["run_id"] == IntentRun.objects.get().pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**LIMIT_BUY, "quantity": "ten"}, "quantity"),
        ({**LIMIT_BUY, "quantity": "-5"}, "quantity"),
        ({**LIMIT_BUY, "limit_price": "NaN"}, "limit_price"),
        ({**LIMIT_BUY, "order_type": "LIMIT"}, "order_type"),
        ({**LIMIT_BUY, "action": "hold"}, "action"),
        ({**LIMIT_BUY, "tif": "FOREVER"}, "tif"),
        ({**LIMIT_BUY, "limt_price": "190"}, "limt_price"),
        ({"action": "BUY", "quantity": "1"}, "symbol"),
    ],
)
def test_a_bad_field_is_a_422_naming_it_and_nothing_is_queued(bob_api, live_worker, body, field):
    response = bob_api.post_json(URL, body)
    assert response.status_code == 422
    assert response.json()["error"] == errors.VALIDATION_ERROR
    assert field in [str(part) for error in response.json()["errors"] for part in error["loc"]]
    assert not IntentRun.objects.exists()


def test_a_body_that_is_not_json_is_a_400(bob_api, live_worker):
    response = bob_api.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == errors.BAD_REQUEST


def test_placing_an_order_with_the_worker_down_queues_nothing(bob_api):
    response = bob_api.post_json(URL, LIMIT_BUY)
    assert response.status_code == 503 and response.json()["error"] == errors.WORKER_UNAVAILABLE
    assert not IntentRun.objects.exists()


def test_an_anonymous_caller_gets_a_401_and_a_read_only_token_a_403(client, charlie_read_api, live_worker):
    assert client.post(URL, LIMIT_BUY, content_type="application/json").status_code == 401
    response = charlie_read_api.post_json(URL, LIMIT_BUY)
    assert response.status_code == 403 and response.json()["detail"] == errors.MSG_READ_ONLY
    order = order_make()
    assert charlie_read_api.patch(f"{URL}/{order.pk}", {"limit_price": "1"}, content_type="application/json").status_code == 403
    assert charlie_read_api.delete(f"{URL}/{order.pk}").status_code == 403
    assert not IntentRun.objects.exists()


def test_the_order_list_still_answers_next_to_placing(bob_api):
    order = order_make(symbol="AAPL")
    response = bob_api.get(f"{URL}?status=open")
    assert response.status_code == 200 and [row["id"] for row in response.json()["items"]] == [order.pk]


def test_one_order_is_read_by_its_row_id(charlie_read_api):
    order = order_make(symbol="AAPL")
    response = charlie_read_api.get(f"{URL}/{order.pk}")
    assert response.status_code == 200 and response.json()["symbol"] == "AAPL"


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_an_unknown_order_id_is_a_404(bob_api, live_worker, method):
    response = getattr(bob_api, method)(f"{URL}/999999", {"limit_price": "1"}, content_type="application/json")
    assert response.status_code == 404 and response.json()["error"] == submission.ORDER_NOT_FOUND


def test_changing_a_working_order_submits_modify_order_for_that_row(bob_api, live_worker):
    order = order_make(symbol="AAPL", order_type="LMT")
    response = bob_api.patch(f"{URL}/{order.pk}", {"limitPrice": "191.25"}, content_type="application/json")
    assert response.status_code == 202
    run = IntentRun.objects.get()
    assert run.intent == "modify_order" and run.params["order"] == order.pk
    assert response.json()["orders"][0]["id"] == order.pk


def test_a_change_with_nothing_to_change_is_a_422(bob_api, live_worker):
    order = order_make()
    response = bob_api.patch(f"{URL}/{order.pk}", {}, content_type="application/json")
    assert response.status_code == 422 and not IntentRun.objects.exists()


def test_cancelling_a_working_order_submits_a_live_cancel_for_that_row(bob_api, live_worker):
    order = order_make(symbol="AAPL")
    response = bob_api.delete(f"{URL}/{order.pk}", headers={"Idempotency-Key": "cancel-1"})
    assert response.status_code == 202
    again = bob_api.delete(f"{URL}/{order.pk}", headers={"Idempotency-Key": "cancel-1"})
    run = IntentRun.objects.get()
    assert (run.intent, run.params["order"], run.dry_run) == ("cancel_order", order.pk, False)
    assert again.json()["run"]["id"] == run.pk


@pytest.mark.parametrize("status", [OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.PLANNED])
def test_changing_or_cancelling_an_order_that_is_not_open_is_a_409(bob_api, live_worker, status):
    order = order_make(status=status)
    patched = bob_api.patch(f"{URL}/{order.pk}", {"limit_price": "1"}, content_type="application/json")
    deleted = bob_api.delete(f"{URL}/{order.pk}")
    assert (patched.status_code, deleted.status_code) == (409, 409)
    assert deleted.json()["error"] == submission.ORDER_NOT_OPEN
    assert not IntentRun.objects.exists()


def _default_connection(**fields) -> None:
    IBConnection.objects.update_or_create(name="default", defaults={"port": 4002, "client_id": 1, **fields})


def test_an_order_no_connection_of_its_mode_reaches_is_a_409_naming_why(bob_api, live_worker):
    _default_connection(mode="paper")
    order = order_make(mode="live")
    response = bob_api.delete(f"{URL}/{order.pk}")
    assert response.status_code == 409
    assert response.json()["detail"] == runs.ORDER_OTHER_MODE.format(
        pk=order.pk, mode="live", connection="default", other="paper"
    )
    assert not IntentRun.objects.exists()


def test_an_order_of_a_live_connection_is_changed_and_cancelled_while_the_console_shows_paper(bob_api, live_worker):
    # Modes are per connection: the active mode (paper) only picks the dashboard's default view.
    assert active_mode() == "paper"
    _default_connection(mode="live")
    order = order_make(mode="live")
    patched = bob_api.patch(f"{URL}/{order.pk}", {"limit_price": "1"}, content_type="application/json")
    assert patched.status_code == 202, patched.json()
    assert bob_api.delete(f"{URL}/{order.pk}").status_code == 202
    assert list(IntentRun.objects.order_by("pk").values_list("intent", "mode")) == [
        ("modify_order", "live"),
        ("cancel_order", "live"),
    ]


def test_an_order_of_an_account_no_connection_trades_any_more_is_a_409(bob_api, live_worker):
    _default_connection(mode="paper", accounts=["DU1"])
    order = order_make(account="DU9")
    response = bob_api.delete(f"{URL}/{order.pk}")
    assert response.status_code == 409
    assert response.json()["detail"] == runs.ORDER_ACCOUNT_GONE.format(pk=order.pk, account="DU9")
    assert not IntentRun.objects.exists()


def test_an_order_goes_to_its_own_connection_and_a_disabled_one_is_a_409(bob_api, live_worker):
    _default_connection(mode="paper", accounts=["DU1"])
    IBConnection.objects.create(name="desk2", host="10.0.0.2", port=4002, client_id=1, accounts=["DU2"])
    order = order_make(account="DU2", client_id=1, connection="desk2")
    assert runs.order_route(order) == runs.OrderRoute("DU2", "desk2"), "its own connection, named by its account"

    IBConnection.objects.filter(name="desk2").update(enabled=False)
    response = bob_api.delete(f"{URL}/{order.pk}")
    assert response.status_code == 409
    assert response.json()["detail"] == runs.ORDER_CONNECTION_GONE.format(pk=order.pk, connection="desk2")
    assert not IntentRun.objects.exists()


def test_an_order_whose_account_another_connection_trades_now_is_a_409(bob_api, live_worker):
    # Recorded by the default connection's worker; DU2 is desk2's now: desk2's gateway never held it.
    _default_connection(mode="paper", accounts=["DU1"])
    IBConnection.objects.create(name="desk2", host="10.0.0.2", port=4002, client_id=1, accounts=["DU2"])
    order = order_make(account="DU2")
    response = bob_api.patch(f"{URL}/{order.pk}", {"limit_price": "1"}, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["detail"] == runs.ORDER_ACCOUNT_ELSEWHERE.format(
        pk=order.pk, connection="default", account="DU2", other="desk2"
    )
    assert not IntentRun.objects.exists()


def test_the_docs_show_the_order_body_with_its_fields(alice_api):
    schema = alice_api.get("/api/openapi.json").json()
    post = schema["paths"]["/api/orders"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"symbol", "action", "quantity", "limitPrice", "takeProfit"} <= set(schema["components"]["schemas"][ref]["properties"])
    assert "get" in schema["paths"]["/api/orders"], "the list stays documented next to placing"


def test_two_sizes_at_once_is_a_422_from_the_intent_naming_the_fields(bob_api, live_worker):
    response = bob_api.post_json(URL, {**LIMIT_BUY, "notional": "5000"})
    assert response.status_code == 422 and response.json()["error"] == errors.INVALID_PARAMS
    assert {"quantity", "notional"} & set(response.json()["detail"].replace(",", " ").split())


def test_a_limit_order_without_a_limit_price_is_a_422_naming_it(bob_api, live_worker):
    body = {key: value for key, value in LIMIT_BUY.items() if key != "limit_price"}
    response = bob_api.post_json(URL, body)
    assert response.status_code == 422
    assert any(name in response.json()["detail"] for name in ("limit_price", "limitPrice"))
