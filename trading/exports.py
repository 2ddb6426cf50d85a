"""CSV exports: rows of any list streamed as CSV, the same way from the API and the admin.

A year of fills must never sit in memory, so nothing here builds the file: `csv_response` wraps a
generator that encodes `CHUNK_ROWS` rows at a time, reading a queryset through `.iterator()`.

- Columns are `Column(name, get)`; `fields(...)` makes them from attribute names. A time column
  (`time=True`) is written in the display zone (trading/clock.py) as ISO 8601 with its offset, and its
  header names the zone: `created_at (America/New_York)`.
- Cells: None is empty, booleans are `true`/`false`, dicts and lists are JSON, Decimals exact. Text that a
  spreadsheet would run as a formula (starting with = + - @, tab or CR) gets a leading `'`.
- The file is named after what it holds and the day it was made in the display zone
  (`fills-2026-11-30.csv`), sent as an attachment.
- Served by daphne (ASGI), a synchronous iterator would be read whole before the first byte is sent
  (Django's fallback for sync iterators); for an ASGI request the chunks are pulled one by one through
  `sync_to_async` instead, on the thread that owns the database connection.

Other tables (round trips, the daily P&L table) reuse this: pass their rows (objects or dicts with
`Column`s that read them) and a name.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from io import StringIO
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from trading.clock import display_zone, local_day

CONTENT_TYPE = "text/csv; charset=utf-8"
CHUNK_ROWS = 500
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    name: str
    get: Callable[[Any], Any]
    time: bool = False

    def header(self) -> str:
        return f"{self.name} ({display_zone().key})" if self.time else self.name


def fields(*names: str, times: Sequence[str] = ()) -> tuple[Column, ...]:
    """Columns that read attributes (or dict keys) of the same names; `times` are time columns."""
    return tuple(Column(name, _reader(name), time=name in times) for name in names)


def _reader(name: str) -> Callable[[Any], Any]:
    def read(row):
        return row.get(name) if isinstance(row, dict) else getattr(row, name)

    return read


def username(attribute: str) -> Callable[[Any], Any]:
    """A user foreign key as the username (empty when unset)."""

    def read(row):
        user = getattr(row, attribute)
        return user.get_username() if user is not None else None

    return read


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(display_zone()).isoformat()
    if isinstance(value, Decimal | int | float):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def csv_chunks(rows: Iterable, columns: Sequence[Column]) -> Iterator[str]:
    """The header line, then the rows, `CHUNK_ROWS` at a time, as CSV text."""
    buffer = StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.header() for column in columns])
    if isinstance(rows, QuerySet):
        rows = rows.iterator(chunk_size=CHUNK_ROWS)
    for count, row in enumerate(rows, start=1):
        writer.writerow([cell(column.get(row)) for column in columns])
        if count % CHUNK_ROWS == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


async def _pulled(chunks: Iterator[str]) -> AsyncIterator[str]:
    pull = sync_to_async(next, thread_sensitive=True)
    while (chunk := await pull(chunks, None)) is not None:
        yield chunk


def csv_filename(name: str) -> str:
    return f"{name}-{local_day(timezone.now()):%Y-%m-%d}.csv"


def csv_response(*, rows: Iterable, columns: Sequence[Column], name: str, request=None) -> StreamingHttpResponse:
    """A streamed CSV attachment of `rows`; pass the request so an ASGI one streams asynchronously."""
    chunks = csv_chunks(rows, columns)
    content = _pulled(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{csv_filename(name)}"'
    return response


# ----- the record lists' columns: the fields of the API's JSON items, times in the display zone -----------

ORDER_COLUMNS = fields(
    "id", "created_at", "mode", "account", "connection", "strategy", "action", "total_quantity", "symbol", "sec_type",
    "currency", "order_type", "lmt_price", "aux_price", "tif", "status", "filled", "remaining",
    "avg_fill_price", "order_id", "perm_id", "client_id", "order_ref", "run_id", "dry_run", "last_error",
    "updated_at",
    times=("created_at", "updated_at"),
)  # fmt: skip
FILL_COLUMNS = fields(
    "id", "executed_at", "mode", "account", "connection", "strategy", "side", "shares", "symbol", "sec_type", "currency",
    "price", "commission", "commission_currency", "realized_pnl", "exec_id", "order_ref", "ib_order_id",
    times=("executed_at",),
)  # fmt: skip
FILL_COLUMNS = (*FILL_COLUMNS, Column("order", _reader("order_id")), *fields("run_id"))  # our order row, as in the JSON
ACTIVITY_COLUMNS = (
    *fields("id", "created_at", "kind", "severity", "mode", "connection", "account", "strategy", "run_id", times=("created_at",)),
    Column("actor", username("actor")),
    *fields("message", "payload"),
)
RUN_TIMES = ("created_at", "started_at", "finished_at")
RUN_COLUMNS = (
    *fields("id", "intent", "account", "connection", "status", "dry_run", "mode", "source"),
    Column("requested_by", username("requested_by")),
    *fields(*RUN_TIMES, "params", "result", "error", "idempotency_key", times=RUN_TIMES),
)
