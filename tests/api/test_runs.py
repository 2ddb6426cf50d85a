"""GET /api/runs/{id} and GET /api/runs (filter by intent, status, source, date; paginated)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api.factories import run_make
from trading.api import errors
from trading.clock import local_day

pytestmark = pytest.mark.django_db


def test_it_shows_one_run_with_who_asked_and_its_outcome(bob, bob_api):
    run = run_make(intent="close_all", status="succeeded", requested_by=bob, params={"strategies": ["a"]}, result={"sent": True})
    body = bob_api.get(f"/api/runs/{run.pk}").json()
    assert body["id"] == run.pk and body["intent"] == "close_all" and body["status"] == "succeeded"
    assert body["requested_by"] == "bob" and body["params"] == {"strategies": ["a"]} and body["result"] == {"sent": True}


def test_an_unknown_run_is_a_404(bob_api):
    response = bob_api.get("/api/runs/999999")
    assert response.status_code == 404
    assert response.json() == {"error": errors.RUN_NOT_FOUND, "detail": errors.MSG_RUN_NOT_FOUND.format(run_id=999999)}


def test_a_run_id_beyond_the_database_range_is_a_422(bob_api):
    assert bob_api.get(f"/api/runs/{2**64}").status_code == 422


def test_it_lists_runs_newest_first_filtered_by_intent_and_status(bob_api):
    older = run_make(intent="close_all", status="failed")
    newer = run_make(intent="close_all", status="succeeded")
    run_make(intent="summary", status="succeeded")
    page = bob_api.get("/api/runs?intent=close_all").json()
    assert page["count"] == 2 and [r["id"] for r in page["items"]] == [newer.pk, older.pk]
    assert [r["id"] for r in bob_api.get("/api/runs?intent=close_all&status=failed").json()["items"]] == [older.pk]
    assert bob_api.get("/api/runs?source=webhook").json()["count"] == 0


def test_it_filters_runs_by_day_and_time(bob_api):
    now = timezone.now()
    yesterday = run_make(created_at=now - timedelta(days=1))
    today = run_make()
    day = local_day(now - timedelta(days=1)).isoformat()
    assert [r["id"] for r in bob_api.get(f"/api/runs?day={day}").json()["items"]] == [yesterday.pk]
    since = (now - timedelta(hours=1)).isoformat()
    assert [r["id"] for r in bob_api.get("/api/runs", {"since": since}).json()["items"]] == [today.pk]


def test_it_pages_with_limit_and_offset(bob_api):
    runs = [run_make() for _ in range(5)]
    page = bob_api.get("/api/runs?limit=2&offset=1").json()
    assert page["count"] == 5
    assert [r["id"] for r in page["items"]] == [runs[3].pk, runs[2].pk]
