"""One error shape for every failure, including ninja's own and routes that do not exist."""

from datetime import UTC, datetime

import pytest

from tests.api.factories import fill_make
from trading.api import errors

pytestmark = pytest.mark.django_db


def test_an_unknown_route_under_api_is_a_404_in_the_error_shape(bob_api):
    response = bob_api.get("/api/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {"error": errors.NOT_FOUND, "detail": errors.MSG_NO_ROUTE.format(path="/api/no/such/thing")}


def test_a_malformed_run_id_is_an_unknown_route(bob_api):
    assert bob_api.get("/api/runs/abc").json()["error"] == errors.NOT_FOUND


def test_the_api_root_is_a_404_in_the_error_shape(bob_api):
    response = bob_api.get("/api/")
    assert response.status_code == 404 and response.json()["error"] == errors.NOT_FOUND


def test_a_wrong_method_is_a_405_with_allow(bob_api):
    response = bob_api.delete("/api/intents")
    assert response.status_code == 405
    assert response.json()["error"] == errors.METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET"


def test_a_bad_query_parameter_is_a_422_naming_it(bob_api):
    response = bob_api.get("/api/orders?limit=0&status=Lost")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == errors.VALIDATION_ERROR and body["detail"] == errors.MSG_INVALID
    assert {tuple(e["loc"]) for e in body["errors"]} == {("query", "limit"), ("query", "status")}


def test_far_off_dates_are_answered_not_crashed_on(bob_api):
    assert bob_api.get("/api/fills?since=9999-12-31T23:59:59-12:00").json()["count"] == 0
    assert bob_api.get("/api/fills?until=0001-01-01T00:00:00%2B14:00&day=9999-12-31").json()["count"] == 0


def test_offsets_beyond_postgresqls_range_are_answered(bob_api):
    # Python reads offsets up to ±23:59, PostgreSQL only up to ±15:59: the filter compares the UTC instant
    fill_make(executed_at=datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    for path in ("orders", "fills", "activity"):
        response = bob_api.get(f"/api/{path}?until=2980-05-13T23:24:34.2%2B21:56&since=2026-01-01T00:00:00-23:59")
        assert response.status_code == 200, response.content
    assert bob_api.get("/api/fills?since=2026-11-20T23:00:00%2B21:00").json()["count"] == 1  # 02:00 UTC on the 20th
    assert bob_api.get("/api/fills?since=2026-11-20T12:01:00-00:00").json()["count"] == 0


def test_an_unexpected_failure_is_a_500_in_the_error_shape_without_internals(bob_api, monkeypatch):
    def broken(**filters):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("trading.selectors.position_list", broken)
    response = bob_api.get("/api/positions")
    assert response.status_code == 500
    assert response.json() == {"error": errors.INTERNAL_ERROR, "detail": errors.MSG_INTERNAL}
