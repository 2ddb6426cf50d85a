"""With the task queue's Redis killed, a submission still answers honestly: the run is committed and
reported queued (202 / the run's id), never a 500 for a run that then executes. The worker's sweep
claims queued runs from the database, so nothing is lost; the failed hand-off is in the activity log.
Checked for every entry point: the API, a seed path, the webhook, the dashboard socket, runintent."""

import io

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django_q.conf import Conf

from tests.dashboard.conftest import ask, live_socket
from tests.drills.test_outages import PrivateRedis
from trading.models import ActivityEntry, ActivityKind, IntentRun, RunStatus

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.usefixtures("redis_url")]


@pytest.fixture
def broker_down(monkeypatch):
    """The q2 broker is a Redis that was running and has been killed."""
    server = PrivateRedis().start()
    server.stop()
    monkeypatch.setattr(Conf, "REDIS", server.url)
    return server


def assert_one_queued_run_with_its_failed_hand_off_recorded() -> IntentRun:
    run = IntentRun.objects.get()
    assert run.status == RunStatus.QUEUED and run.task_id == ""
    warning = ActivityEntry.objects.get(kind=ActivityKind.INTENT_RUN, severity="warning")
    assert warning.run_id == run.pk and "the worker's sweep picks it up" in warning.message
    return run


def test_an_api_submission_is_a_202_with_the_queued_run(alice_api, live_worker, broker_down):
    response = alice_api.post_json("/api/intents/summary")
    assert response.status_code == 202, response.content[:300]
    run = assert_one_queued_run_with_its_failed_hand_off_recorded()
    assert response.json()["id"] == run.pk and response.json()["status"] == RunStatus.QUEUED


def test_a_retry_with_the_same_key_returns_the_same_run(alice_api, live_worker, broker_down):
    first = alice_api.post_json("/api/intents/summary", headers={"Idempotency-Key": "k1"})
    again = alice_api.post_json("/api/intents/summary", headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (202, 202) and first.json()["id"] == again.json()["id"]
    assert IntentRun.objects.count() == 1


def test_a_seed_path_answers_with_the_queued_run(alice_api, live_worker, broker_down):
    response = alice_api.post_json("/close-all?wait=0", {"dryRun": True})
    assert response.status_code == 202 and response.json()["id"] == assert_one_queued_run_with_its_failed_hand_off_recorded().pk


def test_the_webhook_is_a_202_with_the_queued_run(client, bob_token, live_worker, broker_down):
    body = {"token": bob_token, "intent": "close_all", "alert_id": "a1", "params": {"dryRun": True}}
    response = client.post("/api/webhook", body, content_type="application/json")
    assert response.status_code == 202 and response.json()["id"] == assert_one_queued_run_with_its_failed_hand_off_recorded().pk


def test_the_dashboard_runs_an_intent_and_says_it_is_queued(bob, live_worker, broker_down):
    async def run_from_the_page():
        async with live_socket(bob) as (communicator, _):
            return await ask(communicator, {"type": "intent.run", "intent": "summary", "request_id": "r1"})

    result = async_to_sync(run_from_the_page)()
    assert result["ok"] is True and result["run"]["id"] == assert_one_queued_run_with_its_failed_hand_off_recorded().pk


def test_runintent_reports_the_queued_run_instead_of_a_traceback(live_worker, broker_down):
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("runintent", "summary", "--wait", "0", "--json", stdout=out, stderr=io.StringIO())
    assert exited.value.code == 6  # still queued when --wait ran out
    assert f'"id": {assert_one_queued_run_with_its_failed_hand_off_recorded().pk}' in out.getvalue()
