"""`?format=csv` / `Accept: text/csv` on the list endpoints: every matching row, streamed, same filters."""

import csv
import io
from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from tests.api.factories import fill_make, order_make, run_make
from trading.activity import activity_record
from trading.clock import local_today
from trading.models import ActivityKind, OrderStatus

pytestmark = pytest.mark.django_db

LIST_PATHS = ("/api/orders", "/api/fills", "/api/activity", "/api/runs")


def csv_rows(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)  # never the whole file built in memory first
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_it_answers_every_matching_order_not_one_page(bob_api):
    for _ in range(60):
        order_make(symbol="SPY")

    page = bob_api.get("/api/orders?limit=5").json()
    rows = csv_rows(bob_api.get("/api/orders?format=csv&limit=5&offset=10"))

    assert len(page["items"]) == 5 and page["count"] == 60
    assert len(rows) == 60  # limit and offset do not cut the file
    assert rows[0]["id"] == str(page["items"][0]["id"])  # newest first, as the JSON


def test_it_keeps_the_json_lists_filters(bob_api):
    open_spy = order_make(symbol="SPY", strategy="macd", status=OrderStatus.SUBMITTED)
    order_make(symbol="QQQ", strategy="macd", status=OrderStatus.FILLED)
    order_make(symbol="SPY", status=OrderStatus.SUBMITTED, created_at=timezone.now() - timedelta(days=3))
    order_make(symbol="SPY", mode="live")

    rows = csv_rows(
        bob_api.get(f"/api/orders?format=csv&status=open&strategy=macd&day={local_today()}")
    )  # the console's day, not UTC's

    assert [row["id"] for row in rows] == [str(open_spy.pk)]


def test_fills_filter_by_symbol_and_run(bob_api):
    run = run_make(intent="close_all")
    mine = fill_make(symbol="QQQ", run=run, commission="1.25")
    fill_make(symbol="QQQ")
    fill_make(symbol="SPY", run=run)

    rows = csv_rows(bob_api.get(f"/api/fills?format=csv&symbol=qqq&run_id={run.pk}"))

    assert [(row["exec_id"], row["commission"], row["run_id"]) for row in rows] == [(mine.exec_id, "1.250000", str(run.pk))]


def test_activity_and_runs_export_their_rows(bob_api, alice):
    run = run_make(intent="close_all", status="succeeded", requested_by=alice, result={"sent": 2})
    run_make(intent="summary")
    activity_record(kind=ActivityKind.ORDER, message="sending: SELL 1 SPY MKT", run=run, actor=alice, payload={"order": 7})
    activity_record(kind=ActivityKind.WORKER, message="worker connected")

    runs = csv_rows(bob_api.get("/api/runs?format=csv&intent=close_all"))
    entries = csv_rows(bob_api.get(f"/api/activity?format=csv&run_id={run.pk}"))

    assert [(r["intent"], r["requested_by"], r["result"]) for r in runs] == [("close_all", "alice", '{"sent": 2}')]
    assert [(e["message"], e["actor"], e["payload"]) for e in entries] == [("sending: SELL 1 SPY MKT", "alice", '{"order": 7}')]


@pytest.mark.parametrize("path", LIST_PATHS)
def test_accept_text_csv_chooses_csv_and_format_wins_over_it(bob_api, path, settings, zone_from_settings):
    settings.DISPLAY_TIME_ZONE = "Europe/Zurich"
    run_make()

    by_header = bob_api.get(path, HTTP_ACCEPT="text/csv")
    overridden = bob_api.get(f"{path}?format=json", HTTP_ACCEPT="text/csv")
    browser = bob_api.get(path, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")

    header = next(csv.reader(io.StringIO(b"".join(by_header.streaming_content).decode())))
    assert "created_at (Europe/Zurich)" in header or "executed_at (Europe/Zurich)" in header
    assert by_header["Content-Disposition"].startswith(f'attachment; filename="{path.rsplit("/", 1)[1]}-')
    assert by_header["Vary"] == "Accept"
    assert overridden["Content-Type"].startswith("application/json") and "items" in overridden.json()
    assert browser["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("path", LIST_PATHS)
def test_an_unknown_format_is_a_clear_422(bob_api, path):
    response = bob_api.get(f"{path}?format=xlsx")

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["errors"] == [{"loc": ["query", "format"], "msg": "Input should be 'json' or 'csv'", "type": "literal_error"}]


def test_csv_needs_a_token_like_the_json(client):
    response = client.get("/api/orders?format=csv")

    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


def test_the_schema_documents_csv_on_the_list_endpoints(bob_api):
    paths = bob_api.get("/api/openapi.json").json()["paths"]

    for path in LIST_PATHS:
        operation = paths[path]["get"]
        assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
        [fmt] = [p for p in operation["parameters"] if p["name"] == "format"]
        assert fmt["in"] == "query" and "csv" in str(fmt["schema"])
    assert "text/csv" not in str(paths["/api/positions"]["get"]["responses"])
