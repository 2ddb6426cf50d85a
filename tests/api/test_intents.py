"""POST /api/intents/{name} and GET /api/intents: the one submission path, over HTTP."""

import threading
import time

import pytest
from django.db import connection
from django.test import Client

from tests.api.conftest import run_finish_now
from trading.api import errors
from trading.intents.runs import WORKER_DOWN
from trading.models import ActivityEntry, ActivityKind, IntentRun, RunSource, RunStatus, Strategy

pytestmark = pytest.mark.django_db

CLOSE_ALL = "/api/intents/close_all"
CSRF_SECRET = "s" * 32  # the shape of Django's csrftoken cookie


def test_it_lists_intents_with_their_parameter_schemas(bob_api):
    response = bob_api.get("/api/intents")
    assert response.status_code == 200
    intents = {intent["name"]: intent for intent in response.json()}
    assert {"summary", "close_all", "cancel_order"} <= set(intents)
    assert "strategies" in intents["close_all"]["params"]["properties"]
    assert intents["close_all"]["allowed_when_killed"] is True
    assert set(intents["cancel_order"]["params"]["properties"]) == {"order", "orderId"}  # exactly one of them


def test_it_answers_503_and_queues_nothing_when_the_worker_is_down(alice_api):
    response = alice_api.post_json(CLOSE_ALL, {"dryRun": True})
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == errors.WORKER_UNAVAILABLE
    assert body["detail"] == WORKER_DOWN.format(reason="the IB worker has never run")
    assert not IntentRun.objects.exists()


def test_it_queues_a_run_and_answers_202_with_it(alice, alice_api, live_worker, redis_url, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = alice_api.post_json(CLOSE_ALL, {"dryRun": True})
    assert response.status_code == 202
    body = response.json()
    run = IntentRun.objects.get()
    assert body["id"] == run.pk and body["url"] == f"/api/runs/{run.pk}"
    assert (body["intent"], body["status"], body["dry_run"], body["source"]) == ("close_all", "queued", True, "api")
    assert body["requested_by"] == "alice" and run.requested_by == alice
    assert len([c for c in callbacks if "run_submit" in c.__qualname__]) == 1  # one enqueue (and notifications' kick)
    run.refresh_from_db()
    assert run.task_id, "the run was handed to django-q2 after commit"
    assert ActivityEntry.objects.filter(kind=ActivityKind.INTENT_RUN, run=run, actor=alice).exists()


def test_the_seeds_dry_run_name_and_parameters_are_accepted(bob_api, live_worker):
    Strategy.objects.get_or_create(strategy_id="testsignalgenerator")
    response = bob_api.post_json(CLOSE_ALL, {"strategies": ["testsignalgenerator"], "dryRun": False})
    assert response.status_code == 202
    run = IntentRun.objects.get()
    assert run.params == {"strategies": ["testsignalgenerator"]} and run.dry_run is False


def test_an_empty_body_means_no_parameters(bob_api, live_worker):
    response = bob_api.post("/api/intents/summary", "", content_type="application/json")  # curl -X POST, no -d
    assert response.status_code == 202
    assert IntentRun.objects.get().intent == "summary"


def test_a_repeated_idempotency_key_returns_the_same_run(bob_api, live_worker):
    first = bob_api.post_json(CLOSE_ALL, {"dryRun": True}, headers={"Idempotency-Key": "close-1"})
    again = bob_api.post_json(CLOSE_ALL, {"dryRun": True}, headers={"Idempotency-Key": "close-1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert IntentRun.objects.count() == 1


def test_a_repeated_key_with_a_different_body_is_a_409(bob_api, live_worker):
    bob_api.post_json(CLOSE_ALL, {"dryRun": True}, headers={"Idempotency-Key": "close-2"})
    response = bob_api.post_json(CLOSE_ALL, {"dryRun": False}, headers={"Idempotency-Key": "close-2"})
    assert response.status_code == 409
    assert response.json()["error"] == errors.IDEMPOTENCY_CONFLICT
    assert IntentRun.objects.count() == 1


def test_keys_are_per_user_so_two_callers_never_share_a_run(alice_api, bob_api, live_worker):
    mine = alice_api.post_json(CLOSE_ALL, {"dryRun": True}, headers={"Idempotency-Key": "same"}).json()
    theirs = bob_api.post_json(CLOSE_ALL, {"dryRun": True}, headers={"Idempotency-Key": "same"}).json()
    assert mine["id"] != theirs["id"]


def test_a_finished_run_answers_200_with_its_result(bob_api, live_worker):
    first = bob_api.post_json(CLOSE_ALL, {"dryRun": True}, headers={"Idempotency-Key": "done-1"}).json()
    run_finish_now(first["id"], result={"plan": {"cancel": [], "close": []}, "sent": False})
    response = bob_api.post_json(CLOSE_ALL, {"dryRun": True}, headers={"Idempotency-Key": "done-1"})
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"
    assert response.json()["result"] == {"plan": {"cancel": [], "close": []}, "sent": False}


def test_a_wait_that_runs_out_answers_504_with_the_run_id_and_the_run_keeps_going(bob_api, live_worker):
    response = bob_api.post_json(f"{CLOSE_ALL}?wait=0.3", {"dryRun": True})
    assert response.status_code == 504
    body = response.json()
    run = IntentRun.objects.get()
    assert body["error"] == errors.WAIT_TIMEOUT
    assert body["run_id"] == run.pk and body["run"]["status"] == "queued"
    assert body["detail"] == errors.MSG_WAIT_TIMEOUT.format(run_id=run.pk, wait=0.3)
    assert run.status == RunStatus.QUEUED


def test_an_unknown_intent_is_a_404(bob_api, live_worker):
    response = bob_api.post_json("/api/intents/make_money", {})
    assert response.status_code == 404
    assert response.json()["error"] == errors.UNKNOWN_INTENT
    assert "make_money" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"strategies": ["nobody"]}, ["strategies", 0]),
        ({"bogus": 1}, ["bogus"]),
        ({"strategies": "not-a-list"}, ["strategies"]),
        ({"dryRun": "yes"}, ["dryRun"]),
    ],
)
def test_bad_parameters_are_a_422_naming_the_field(bob_api, live_worker, body, loc):
    response = bob_api.post_json(CLOSE_ALL, body)
    assert response.status_code == 422
    assert response.json()["error"] == errors.INVALID_PARAMS
    assert response.json()["errors"][0]["loc"] == loc
    assert not IntentRun.objects.exists()


def test_a_body_that_is_not_json_is_a_400(bob_api, live_worker):
    response = bob_api.post(CLOSE_ALL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": errors.BAD_REQUEST, "detail": errors.MSG_BAD_BODY}


def test_a_body_that_is_not_an_object_is_a_422(bob_api, live_worker):
    response = bob_api.post_json(CLOSE_ALL, ["SPY"])
    assert response.status_code == 422
    assert response.json()["error"] == errors.VALIDATION_ERROR


def test_nul_characters_are_refused_before_they_reach_the_database(bob_api, live_worker):
    response = bob_api.post_json(CLOSE_ALL, {"strategies": ["a\x00b"]})
    assert response.status_code == 422
    assert response.json()["detail"] == errors.MSG_NUL
    assert response.json()["errors"][0]["loc"] == ["body", "strategies", 0]


def test_a_wait_longer_than_allowed_is_a_422(bob_api, live_worker):
    response = bob_api.post_json(f"{CLOSE_ALL}?wait=301", {})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "wait"]


def test_the_dashboard_submits_with_its_session_and_csrf(bob, live_worker):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(bob)
    refused = browser.post(CLOSE_ALL, {"dryRun": True}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json() == {"error": errors.CSRF_FAILED, "detail": errors.MSG_CSRF}
    browser.cookies["csrftoken"] = CSRF_SECRET
    response = browser.post(CLOSE_ALL, {"dryRun": True}, content_type="application/json", headers={"X-CSRFToken": CSRF_SECRET})
    assert response.status_code == 202
    assert IntentRun.objects.get().source == RunSource.DASHBOARD


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_wait_returns_200_with_the_result_once_the_worker_finishes(bob_api, live_worker, redis_url):
    """A stand-in worker (a thread) finishes the run while the request waits for it."""

    def worker():
        try:
            for _ in range(100):
                run = IntentRun.objects.filter(intent="summary").first()
                if run is not None:
                    run_finish_now(run.pk, result={"account": "DU123", "account_summary": [{"tag": "NetLiquidation"}]})
                    return
                time.sleep(0.05)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    response = bob_api.post("/api/intents/summary?wait=10", "{}", content_type="application/json")
    thread.join()
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "succeeded" and body["result"]["account"] == "DU123"
    assert IntentRun.objects.get().task_id, "enqueued to django-q2 on commit"
