"""Query parameters: filters of the list endpoints and the `wait` of submissions, validated at the edge.

Text is bounded and free of control characters (NUL breaks PostgreSQL); times are ISO 8601 only.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import BeforeValidator, StringConstraints

from trading.models import ActivityKind, OrderStatus, RunSource, RunStatus, TradingMode
from trading.models.activity import Severity
from trading.models.connections import CONNECTION_NAME_PATTERN

MAX_WAIT = 300.0  # seconds a request may wait for a run's outcome
MAX_ID = 2**63 - 1

# Text from the outside: printable, bounded (NUL and control characters break PostgreSQL and logs).
Text = Annotated[str, StringConstraints(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
ConnectionName = Annotated[str, StringConstraints(pattern=CONNECTION_NAME_PATTERN)]
ACCOUNT = "Rows of this IB account."
CONNECTION = "Rows recorded by this IB connection's worker (its name; `default`: the environment's)."


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
MSG_ISO = "use ISO 8601, e.g. 2026-11-21 or 2026-11-21T14:30:00Z"


def _iso_only(value):
    """Pydantic also reads numbers as Unix timestamps; the schema promises ISO 8601, so only that is accepted."""
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise ValueError(MSG_ISO)
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]
IsoDate = Annotated[date, BeforeValidator(_iso_only)]
OrderStatusFilter = Literal[("open", "done", *OrderStatus.values)]


class WaitQuery(Schema):
    wait: float | None = Field(
        None, ge=0, le=MAX_WAIT, allow_inf_nan=False, description="Seconds to wait for the outcome (0 or absent: don't wait)."
    )


class RunFilters(Schema):
    intent: Name | None = None
    account: Text | None = Field(None, description="The IB account the run trades.")
    status: RunStatus | None = None
    source: RunSource | None = None
    day: IsoDate | None = Field(None, description="A calendar day in the console's time zone.")
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None


class OrderFilters(Schema):
    mode: TradingMode | None = Field(None, description="Default: the active mode.")
    status: OrderStatusFilter | None = Field(None, description="An IB status, `open` (still working) or `done`.")
    strategy: Text | None = None
    symbol: Text | None = None
    run_id: RowId | None = None
    account: Text | None = Field(None, description=ACCOUNT)
    connection: ConnectionName | None = Field(None, description=CONNECTION)
    day: IsoDate | None = Field(None, description="Created on this day (console time zone).")
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None


class FillFilters(Schema):
    mode: TradingMode | None = Field(None, description="Default: the active mode.")
    strategy: Text | None = None
    symbol: Text | None = None
    run_id: RowId | None = None
    account: Text | None = Field(None, description=ACCOUNT)
    connection: ConnectionName | None = Field(None, description=CONNECTION)
    day: IsoDate | None = Field(None, description="Executed on this day (console time zone).")
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None


class PositionFilters(Schema):
    mode: TradingMode | None = Field(None, description="Default: the active mode.")
    account: Text | None = None
    connection: ConnectionName | None = Field(None, description=CONNECTION)
    symbol: Text | None = None


class ActivityFilters(Schema):
    mode: TradingMode | None = Field(None, description="Entries of this mode plus those of no mode; default: all.")
    kind: ActivityKind | None = None
    severity: Severity | None = None
    strategy: Text | None = None
    run_id: RowId | None = None
    account: Text | None = Field(None, description="Entries about this IB account.")
    connection: ConnectionName | None = Field(None, description="Entries about this IB connection.")
    day: IsoDate | None = None
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None
