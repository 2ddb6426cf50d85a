"""Typed shapes in and out of the API. Records reuse the worker's live-event payload builders
(trading.worker.store), so a row read here has the keys the dashboard receives over the socket.
Decimals are strings (no precision lost); times are ISO 8601.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import available_timezones

from django.urls import reverse
from ninja import Field, Schema
from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, WithJsonSchema, model_validator

from trading.api.filters import Name
from trading.models import ActivityEntry, ConfigScope, Fill, IntentRun, Order, Position, RunStatus, TradingMode
from trading.worker.store import activity_event, fill_event, order_event, position_event

TIME_ZONES = sorted(available_timezones())


class ErrorItem(Schema):
    loc: list[Any]
    msg: str
    type: str


# --- runs and intents ---


class RunOut(Schema):
    id: int
    intent: str
    status: RunStatus
    dry_run: bool
    mode: str
    source: str
    requested_by: str | None = None
    idempotency_key: str | None = None
    params: dict[str, Any]
    account: str = Field("", description="The IB account the run trades (blank: none was known; as before accounts).")
    connection: str = Field("default", description="The IB connection whose worker runs it (the account's).")
    result: Any = None
    error: str
    created_at: datetime
    start_deadline: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    url: str

    @staticmethod
    def resolve_requested_by(run: IntentRun) -> str | None:
        return run.requested_by.get_username() if run.requested_by_id else None

    @staticmethod
    def resolve_url(run: IntentRun) -> str:
        return reverse("api:run_get", kwargs={"run_id": run.pk})


class ErrorOut(Schema):
    """Every failure: `error` is a stable code, `detail` a message for people; the rest is optional."""

    error: str
    detail: str
    errors: list[ErrorItem] | None = None
    run_id: int | None = None
    run: RunOut | None = None


class IntentOut(Schema):
    name: str
    description: str
    params: dict[str, Any] = Field(description="The parameters' JSON schema (the seed's names, e.g. dryRun, strategies).")
    timeout: float
    places_orders: bool
    allowed_when_killed: bool


class WebhookIn(Schema):
    """A TradingView-style alert: the token rides in the body because the sender cannot set headers."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(max_length=200)
    intent: Name
    alert_id: Annotated[str, StringConstraints(min_length=1, max_length=150, pattern=r"^[^\x00-\x1f\x7f]+$")] = Field(
        description="The sender's alert id: a repeated id returns the first run (de-duplication)."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="The intent's parameters; may carry dryRun.")


# --- orders (the place_order / modify_order intents' parameters, typed at the edge for the docs) ---

POSITIVE_DECIMAL = r"^(\d*[1-9]\d*(\.\d*)?|\d*\.\d*[1-9]\d*)$"
PERCENT_DECIMAL = r"^(0*100(\.0*)?|0*[1-9]\d?(\.\d*)?|0*\.\d*[1-9]\d*)$"
MAX_NUMBER_TEXT = 24
MSG_NUMBER = 'a positive number, or a string of digits such as "190.5"{limit}'


def _number(pattern: str, maximum: float | None = None):
    """A positive decimal, as a JSON number or as a string of digits (TradingView fills numbers into strings).

    The string form is checked by the same pattern the schema publishes, so the docs and the validator agree."""

    def parse(value):
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise ValueError(message)
        if isinstance(value, str) and (len(value) > MAX_NUMBER_TEXT or not re.fullmatch(pattern, value)):
            raise ValueError(message)
        return value

    message = MSG_NUMBER.format(limit=f" up to {maximum:g}" if maximum else "")
    number = {"type": "number", "exclusiveMinimum": 0, **({"maximum": maximum} if maximum else {})}
    schema = {"anyOf": [number, {"type": "string", "pattern": pattern, "maxLength": MAX_NUMBER_TEXT}]}
    return Annotated[Decimal, BeforeValidator(parse), Field(gt=0, le=maximum, allow_inf_nan=False), WithJsonSchema(schema)]


# No upper bound on prices and sizes here: the order gateway's risk limits (max quantity, notional) decide.
Price = _number(POSITIVE_DECIMAL)
Size = _number(POSITIVE_DECIMAL)
Percent = _number(PERCENT_DECIMAL, 100)
# Free text a broker reads (symbol, exchange, currency): bounded, no control characters.
Code = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[^\x00-\x1f\x7f]+$")]
Side = Annotated[str, StringConstraints(pattern=r"^(BUY|SELL|buy|sell)$")]
OrderType = Literal["MKT", "LMT", "STP", "STP LMT", "TRAIL", "MOC", "LOC"]
TimeInForce = Literal["DAY", "GTC", "IOC", "OPG"]


class _OrderParams(Schema):
    """Camel-case aliases (`limitPrice`) and snake_case both work; numbers may be strings ("10")."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def as_params(self) -> dict:
        """What the caller sent, snake_case, numbers as strings: the intent's own schema decides the rest."""
        return self.model_dump(mode="json", exclude_unset=True)


class OrderIn(_OrderParams):
    """The body of POST /api/orders: the parameters of the `place_order` intent."""

    symbol: Code = Field(description="IB symbol, e.g. AAPL, or EUR for EUR.USD with sec_type CASH.")
    sec_type: Literal["STK", "CASH"] | None = Field(None, alias="secType", description="STK (default) or CASH.")
    exchange: Code | None = Field(None, description="Default SMART (IDEALPRO for CASH).")
    currency: Code | None = Field(None, description="Default USD.")
    action: Side = Field(description="BUY or SELL (buy/sell as TradingView sends them).")
    quantity: Size | None = Field(None, description="Shares or units. Exactly one of quantity, notional, percent.")
    notional: Size | None = Field(None, description="A cash amount; shares rounded down at the quote's midpoint.")
    percent: Percent | None = Field(None, description="Percent (0-100] of net liquidation; rounded down like notional.")
    order_type: OrderType | None = Field(None, alias="orderType", description="Default MKT.")
    limit_price: Price | None = Field(None, alias="limitPrice", description="For LMT, STP LMT and LOC.")
    stop_price: Price | None = Field(None, alias="stopPrice", description="For STP and STP LMT.")
    trail_amount: Price | None = Field(None, alias="trailAmount", description="TRAIL: the trailing amount, or…")
    trail_percent: Percent | None = Field(None, alias="trailPercent", description="…TRAIL: the trailing percent.")
    tif: TimeInForce | None = Field(None, description="Default DAY.")
    outside_rth: bool | None = Field(None, alias="outsideRth", description="Allow filling outside regular hours.")
    take_profit: Price | None = Field(None, alias="takeProfit", description="Bracket: the take-profit limit price.")
    stop_loss: Price | None = Field(None, alias="stopLoss", description="Bracket: the stop-loss stop price.")
    strategy: Name | None = Field(None, description="The owner recorded in orderRef and holdings; default manual.")
    account: Code | None = Field(None, description="The IB account (default: the only one known; several: required).")
    dry_run: bool | None = Field(None, alias="dryRun", description="Plan only (absent: the dry_run_default setting).")


class OrderChangeIn(_OrderParams):
    """The body of PATCH /api/orders/{id}: what to change on the working order (at least one field)."""

    limit_price: Price | None = Field(None, alias="limitPrice")
    stop_price: Price | None = Field(None, alias="stopPrice")
    quantity: Size | None = Field(None, description="The new total quantity.")
    dry_run: bool | None = Field(None, alias="dryRun", description="Plan only (absent: the dry_run_default setting).")

    @model_validator(mode="after")
    def _something_to_change(self):
        if self.limit_price is None and self.stop_price is None and self.quantity is None:
            raise ValueError(MSG_NOTHING_TO_CHANGE)
        return self


MSG_NOTHING_TO_CHANGE = "send at least one of limit_price, stop_price, quantity"


# --- records ---


class _FromRecord(BaseModel):
    """Out-schemas built by a serialiser function from a model instance (dicts pass through)."""

    model_config = ConfigDict(from_attributes=True)
    record_model: ClassVar[type]

    @classmethod
    def serialise(cls, record) -> dict:
        raise NotImplementedError

    @model_validator(mode="before")
    @classmethod
    def _from_record(cls, value):
        if isinstance(value, cls.record_model):
            return cls.serialise(value)
        return value


class OrderOut(_FromRecord):
    record_model: ClassVar[type] = Order
    id: int
    mode: str
    account: str
    connection: str = Field(description="The IB connection whose worker placed or recorded it (its ids are that gateway's).")
    order_id: int
    perm_id: int
    client_id: int
    symbol: str
    sec_type: str
    currency: str
    action: str
    total_quantity: str
    order_type: str
    lmt_price: str | None
    tif: str
    status: str
    filled: str
    remaining: str
    avg_fill_price: str
    strategy: str
    order_ref: str
    run_id: int | None
    last_error: str
    dry_run: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def serialise(cls, order: Order) -> dict:
        extra = ("mode", "account", "currency", "tif", "dry_run", "created_at", "updated_at")
        return {**order_event(order), **{name: getattr(order, name) for name in extra}}


class OrderRunOut(Schema):
    """An order submission's answer: the run, and the order rows it concerns (empty until the worker placed them)."""

    run: RunOut
    orders: list[OrderOut] = Field(description="POST: the run's orders (three for a bracket); PATCH/DELETE: the order.")


class FillOut(_FromRecord):
    record_model: ClassVar[type] = Fill
    id: int
    mode: str
    account: str
    connection: str = Field(description="The IB connection whose worker recorded it.")
    exec_id: str
    symbol: str
    sec_type: str
    currency: str
    side: str
    shares: str
    price: str
    commission: str | None
    commission_currency: str
    realized_pnl: str | None
    executed_at: datetime
    strategy: str
    order: int | None = Field(description="The console's order row id.")
    run_id: int | None

    @classmethod
    def serialise(cls, fill: Fill) -> dict:
        extra = ("mode", "account", "sec_type", "currency", "commission_currency")
        return {**fill_event(fill), **{name: getattr(fill, name) for name in extra}}


class PositionOut(_FromRecord):
    record_model: ClassVar[type] = Position
    mode: str
    account: str
    connection: str = Field(description="The IB connection whose gateway reports it.")
    con_id: int
    symbol: str
    sec_type: str
    currency: str
    quantity: str
    avg_cost: str
    market_price: str | None
    market_value: str | None
    unrealized_pnl: str | None
    realized_pnl: str | None
    updated_at: datetime

    @classmethod
    def serialise(cls, position: Position) -> dict:
        realized = None if position.realized_pnl is None else str(position.realized_pnl)
        return {**position_event(position), "mode": position.mode, "realized_pnl": realized, "updated_at": position.updated_at}


class ActivityOut(_FromRecord):
    record_model: ClassVar[type] = ActivityEntry
    id: int
    kind: str
    severity: str
    mode: str
    connection: str = Field(description="The IB connection the entry is about (`default` for console-wide entries).")
    account: str = Field(description="The IB account the entry is about (blank: none or unknown).")
    message: str
    strategy: str
    run_id: int | None
    actor: str | None
    payload: Any
    created_at: datetime

    @classmethod
    def serialise(cls, entry: ActivityEntry) -> dict:
        actor = entry.actor.get_username() if entry.actor_id else None
        return {**activity_event(entry)["payload"], "mode": entry.mode, "actor": actor, "created_at": entry.created_at}


class AccountValueOut(Schema):
    account: str
    tag: str
    currency: str
    value: str
    updated_at: datetime


class PnlOut(Schema):
    account: str
    daily_pnl: str | None
    unrealized_pnl: str | None
    realized_pnl: str | None
    at: datetime = Field(description="When IB's reqPnL stream last pushed these figures (about once a second).")


class SummaryOut(Schema):
    mode: str
    as_of: datetime | None = Field(description="When the newest account value was recorded (null: none yet).")
    accounts: list[str]
    account_values: list[AccountValueOut]
    pnl: PnlOut | None = Field(
        description="The account's P&L from IB's reqPnL stream (null before its first push); each position's "
        "unrealized/realized P&L is from reqPnLSingle, with its row's updated_at."
    )
    positions: list[PositionOut]
    open_orders: list[OrderOut]
    fills_today: list[FillOut]
    worker_alive: bool
    worker_connected: bool


# --- settings, worker, identity ---


class ConfigOut(Schema):
    mode: TradingMode
    trading_enabled: bool
    soft_stop: bool
    market_data_type: int
    account: str
    overall_exposure: str
    default_order_type: str
    default_tif: str
    limit_offset_bps: str
    max_order_quantity: int | None
    max_order_notional: str | None
    allowed_symbols: list[str] | None
    daily_loss_limit: str | None
    max_gross_exposure: str | None
    cash_balancer_threshold: str
    enforce_flat_eod: bool
    flatten_unowned_positions: bool
    what_if_check: bool
    dry_run_default: bool
    cancel_foreign_orders: bool
    display_time_zone: str = Field(description="The IANA zone times are shown in and calendar days (`day` filters) are cut by.")
    kill_switch_by: list[str] = Field(
        description="The rows that stop trading for this mode and account: common, paper, live or `account DU…`"
        " (empty: trading allowed)."
    )
    soft_stop_by: list[str] = Field(
        description="The rows that hold soft stop for this mode and account (empty: soft stop off)."
    )


class SwitchRowIn(Schema):
    """Which settings row a switch is set on: what the kill switch and the soft stop bodies share."""

    model_config = ConfigDict(extra="forbid")

    scope: ConfigScope | None = Field(default=None, description="The row to write (default: common; with `account`: account).")
    account: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="Write this IB account's own row (scope `account`; created on first use). The account must be"
        " one an IB connection lists: an unknown one is refused with 400 and changes nothing.",
    )


class KillSwitchIn(SwitchRowIn):
    trading_enabled: bool = Field(description="false refuses every new order except close_all and cancels.")


class DisplayTimeZoneIn(Schema):
    model_config = ConfigDict(extra="forbid")

    # The zones are listed in the schema (clients can offer them); the name is checked by the settings
    # model, so a bad one is a 422 that says what a zone name looks like rather than listing 600 of them.
    display_time_zone: str = Field(
        max_length=64,
        description="An IANA time zone name, e.g. America/New_York, Europe/London, UTC; empty: the DISPLAY_TIME_ZONE "
        "environment variable's.",
        json_schema_extra={"enum": ["", *TIME_ZONES]},
    )


class SoftStopIn(SwitchRowIn):
    soft_stop: bool = Field(description="true refuses orders that would increase an absolute position.")


class SwitchOut(Schema):
    scope: ConfigScope = Field(description="The row written.")
    account: str | None = Field(default=None, description="The account whose row was written (scope account).")
    trading_enabled: bool | None = Field(description="That row's own value now (null on a mode row: no opinion).")
    soft_stop: bool | None = Field(description="That row's own value now (null on a mode row: no opinion).")
    effective: ConfigOut = Field(description="What is in force now for the active mode (and the account written).")
    kill_switch_by: list[str] = Field(description="The rows that stop trading for the active mode (any one stops it).")
    soft_stop_by: list[str] = Field(description="The rows that hold soft stop for the active mode (any one holds it).")
    in_force: bool = Field(
        description="Whether what was asked is now in force for the active mode (false: another row still "
        "stops trading, or the row written is not the active mode's)."
    )
    message: str = Field(description="One plain sentence: what was written and what is in force, held by which row.")


class WorkerOut(Schema):
    alive: bool
    connected: bool
    reason: str = ""
    age_seconds: float | None = None
    gateway: str = ""
    server_version: int | None = None
    mode: str = ""
    last_event_at: str | None = None
    loop_lag_ms: float | None = None
    runs_in_progress: list[Any] = []
    details: dict[str, Any] = {}


class HealthOut(Schema):
    status: Literal["ok"]
    worker_connected: bool


class MeOut(Schema):
    username: str
    is_staff: bool
    via: Literal["token", "session"]
    token_name: str | None
    read_only: bool
