"""The seed's paths (`GET /summary`, `POST /close-all`, …) with the seed's bodies, as aliases."""

import pytest

from tests.api.conftest import run_finish_now
from trading.api import errors
from trading.api.routers.seed import SEED_PATHS
from trading.intents.registry import intent_list
from trading.models import IntentRun

pytestmark = pytest.mark.django_db


def test_close_all_takes_the_seeds_body_through_the_submission_path(bob, bob_api, live_worker):
    response = bob_api.post_json("/close-all?wait=0", {"dryRun": True})
    assert response.status_code == 202
    run = IntentRun.objects.get()
    assert (run.intent, run.dry_run, run.params, run.source, run.requested_by) == ("close_all", True, {}, "api", bob)


def test_get_summary_submits_the_summary_intent(bob_api, live_worker):
    response = bob_api.get("/summary?wait=0")
    assert response.status_code == 202 and IntentRun.objects.get().intent == "summary"


def test_an_alias_answers_with_the_result_once_the_run_is_done(bob_api, live_worker):
    first = bob_api.post_json("/close-all?wait=0", {"dryRun": True}, headers={"Idempotency-Key": "seed-1"}).json()
    run_finish_now(first["id"], result={"plan": {}, "sent": False})
    response = bob_api.post_json("/close-all", {"dryRun": True}, headers={"Idempotency-Key": "seed-1"})
    assert response.status_code == 200 and response.json()["result"] == {"plan": {}, "sent": False}


def test_an_alias_that_runs_out_of_time_answers_504_not_500(bob_api, live_worker):
    response = bob_api.post_json("/close-all?wait=0.2", {"dryRun": True})
    assert response.status_code == 504
    assert response.json()["run_id"] == IntentRun.objects.get().pk


def test_aliases_need_a_token_not_a_session(client, alice_client, charlie_read_api, live_worker):
    assert client.post("/close-all", {}, content_type="application/json").status_code == 401
    assert alice_client.post("/close-all", {}, content_type="application/json").status_code == 401
    assert charlie_read_api.post_json("/close-all", {}).status_code == 403
    assert not IntentRun.objects.exists()


def test_aliases_share_the_error_shape(bob_api, live_worker):
    response = bob_api.post_json("/close-all", {"strategies": ["nobody"]})
    assert response.status_code == 422 and response.json()["error"] == errors.INVALID_PARAMS
    wrong = bob_api.get("/close-all")
    assert wrong.status_code == 405 and wrong.json()["error"] == errors.METHOD_NOT_ALLOWED


@pytest.mark.urls("tests.api.urls_unregistered_alias")
def test_an_alias_whose_intent_is_not_registered_is_a_404(bob_api, live_worker):
    response = bob_api.post_json("/not-installed", {"dryRun": True})
    assert response.status_code == 404
    assert response.json()["error"] == errors.UNKNOWN_INTENT and "not_installed" in response.json()["detail"]
    assert not IntentRun.objects.exists()


def test_every_seed_path_names_an_intent_or_answers_404_for_it(bob_api, live_worker):
    """Paths whose intents are installed submit them; the others (still being written) answer 404."""
    registered = {intent.name for intent in intent_list()}
    for path, name in SEED_PATHS.items():
        response = bob_api.post_json(f"{path}?wait=0", {"dryRun": True})
        expected = {202, 422} if name in registered else {404}  # 422: that intent needs parameters
        assert response.status_code in expected, (path, response.json())
