"""trading/exports.py: streamed CSV with times in the display zone, safe cells and a dated file name."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.http import StreamingHttpResponse
from django.test import AsyncRequestFactory, RequestFactory

from tests.api.factories import fill_make, run_make
from trading import exports
from trading.exports import FILL_COLUMNS, RUN_COLUMNS, Column, csv_chunks, csv_response, fields
from trading.models import Fill, IntentRun

pytestmark = pytest.mark.django_db


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_it_writes_times_in_the_display_zone_and_names_the_zone_in_the_header(settings):
    settings.DISPLAY_TIME_ZONE = "America/New_York"
    fill_make(symbol="SPY", executed_at=datetime(2026, 7, 1, 13, 30, tzinfo=UTC), commission="1.00")

    text = "".join(csv_chunks(Fill.objects.all(), FILL_COLUMNS))

    [row] = rows_of(text)
    assert row["executed_at (America/New_York)"] == "2026-07-01T09:30:00-04:00"
    assert row["symbol"] == "SPY" and row["commission"] == "1.000000" and row["realized_pnl"] == ""


def test_it_encodes_a_queryset_a_chunk_at_a_time(monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 3)
    for _ in range(7):
        fill_make()

    chunks = list(csv_chunks(Fill.objects.all(), FILL_COLUMNS))

    # header + 3 rows, 3 rows, the last row: nothing waited for the whole table
    assert [chunk.count("\n") for chunk in chunks] == [4, 3, 1]


def test_it_defuses_text_a_spreadsheet_would_run_as_a_formula():
    columns = fields("note", "qty")
    text = "".join(csv_chunks([{"note": '=HYPERLINK("x")', "qty": -5}, {"note": "ok", "qty": 2}], columns))

    assert [row["note"] for row in rows_of(text)] == ['\'=HYPERLINK("x")', "ok"]
    assert [row["qty"] for row in rows_of(text)] == ["-5", "2"]  # numbers stay numbers


def test_it_writes_json_fields_as_json_and_users_by_name(alice):
    run_make(intent="close_all", params={"strategies": ["macd"]}, requested_by=alice, result=None)

    [row] = rows_of("".join(csv_chunks(IntentRun.objects.all(), RUN_COLUMNS)))

    assert row["params"] == '{"strategies": ["macd"]}' and row["requested_by"] == "alice" and row["result"] == ""
    assert row["dry_run"] == "false" and row["finished_at (America/New_York)"] == ""


def test_it_names_the_file_after_its_rows_and_the_local_day():
    response = csv_response(rows=[], columns=(Column("a", lambda row: row),), name="fills", request=RequestFactory().get("/"))

    assert isinstance(response, StreamingHttpResponse) and not response.is_async
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="fills-20')
    assert response["Content-Disposition"].endswith('.csv"')


@pytest.mark.asyncio
async def test_it_streams_asynchronously_to_an_asgi_request():
    response = csv_response(
        rows=({"n": n} for n in range(1200)), columns=fields("n"), name="numbers", request=AsyncRequestFactory().get("/")
    )

    assert response.is_async  # daphne would otherwise read the whole file before sending a byte
    text = "".join([chunk.decode() async for chunk in response])
    assert [row["n"] for row in rows_of(text)] == [str(n) for n in range(1200)]
