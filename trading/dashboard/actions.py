"""What the dashboard's buttons do, enforced here on the server whatever the page sends.

Each action re-reads the user (a socket may outlive a demotion), checks what it needs, then calls the
same services as every other way in: `run_submit` (the one submission path; runs and cancels) and
`switch_set` (kill switch, soft stop: set to the value asked, never toggled). A refusal raises `ActionRefused` with a code and a message
for the trader, and nothing is half-done: run_submit and config_update write in one transaction.
An outcome carries the live events to broadcast, so every open dashboard sees a queued run or a
flipped switch at once.

The order ticket's quote and preview are questions for the IB worker, never runs: `order_quote_command`
and `order_preview_command` check the request and the worker's heartbeat and build the command the
consumer sends (`trading.live.worker_request`); `worker_answer` turns the worker's answer, or its
silence, into the result. Nothing is written for either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Max

from trading.config import CHANGE_SETTINGS, SWITCHES, config_event, effective_config, switch_set, switches_describe
from trading.dashboard.selectors import run_payload
from trading.intents.registry import IntentNotFound, intent_get
from trading.intents.runs import (
    WORKER_DOWN,
    IdempotencyConflict,
    IntentParamsInvalid,
    OrderRoute,
    WorkerUnavailable,
    order_route,
    params_validate,
    run_account_resolve,
    run_submit,
    split_account,
    split_dry_run,
)
from trading.live import live_event
from trading.models import DEFAULT_CONNECTION, ActivityEntry, ActivityKind, Order, OrderStatus, RunSource, TradingMode
from trading.worker.store import activity_event

SOURCE = "dashboard"
NOT_LOGGED_IN = "your session has ended: log in again"
STAFF_ONLY = "only staff users with the permission to change trading settings may set the kill switch or the soft stop"
CONFIRM_LIVE = "this run sends real orders in LIVE mode; confirm it to go ahead"
BAD_REQUEST_ID = "request_id must be 1-64 letters, digits, '-' or '_'"
BAD_PARAMS = "params must be a JSON object"
BAD_DRY_RUN = "dry_run must be true or false"
ORDER_UNKNOWN = "order #{pk} does not exist"
ORDER_NOT_OPEN = "order #{pk} ({symbol}) is {status}: there is nothing to cancel"
ORDER_NOT_OPEN_TO_MODIFY = "order #{pk} ({symbol}) is {status}: there is nothing to modify"
ORDER_NO_IB_ID = "order #{pk} has no IB order id yet; wait for IB to acknowledge it"
UNKNOWN_SWITCH = "unknown switch {switch!r}: use kill_switch or soft_stop"
SWITCH_SET = "{label} is now {state} ({rows}); {in_force}"
SWITCH_ALREADY = "{label} was already {state}; {in_force}"
BAD_ACCOUNT = "account must be an IB account id such as DU1234567"
BAD_SYMBOL = "symbol must be 1-12 letters, digits, '.', '-' or spaces (AAPL, EUR.USD)"
BAD_SEC_TYPE = "sec_type must be STK or CASH"
BAD_VENUE = "{field} must be 1-12 letters or digits (SMART, USD)"
WORKER_SILENT = "the IB worker did not answer within {seconds:.0f}s (down, busy or unreachable): try again shortly"
REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9. -]{0,11}$")
VENUE = re.compile(r"^[A-Za-z0-9]{1,12}$")
SEC_TYPES = ("STK", "CASH")
MODIFY_FIELDS = ("limit_price", "stop_price", "quantity")


class ActionRefused(Exception):
    """An action the server will not do; `code` is stable for the page, `message` is for the trader."""

    def __init__(self, code: str, message: str, details: list | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []


@dataclass
class ActionOutcome:
    message: str
    run: dict | None = None
    created: bool = False
    events: list[dict] = field(default_factory=list)  # live events for every dashboard


def dashboard_intent_run(
    *, user, intent: str, params: dict | None, dry_run: bool = True, confirmed: bool = False, request_id: str = ""
) -> ActionOutcome:
    """Submit an intent run. Dry run unless asked otherwise; a real run in live mode needs `confirmed`."""
    user = _current_user(user)
    if params is not None and not isinstance(params, dict):
        raise ActionRefused("invalid", BAD_PARAMS)
    if not isinstance(dry_run, bool):
        raise ActionRefused("invalid", BAD_DRY_RUN)
    _require_confirmation(dry_run=dry_run, confirmed=confirmed)
    return _submit(user=user, intent=intent, params=params or {}, dry_run=dry_run, request_id=request_id)


def dashboard_order_cancel(*, user, order: int, confirmed: bool = False, request_id: str = "") -> ActionOutcome:
    """Cancel one open order (by its row id) through the `cancel_order` intent, never as a dry run."""
    user = _current_user(user)
    row, route = _open_order(order, not_open=ORDER_NOT_OPEN)
    _require_confirmation(dry_run=False, confirmed=confirmed)
    return _submit(
        user=user, intent="cancel_order", params={"orderId": row.order_id}, dry_run=False, request_id=request_id,
        account=route.account,
    )  # fmt: skip


def dashboard_order_modify(*, user, order: int, changes: dict, confirmed: bool = False, request_id: str = "") -> ActionOutcome:
    """New limit price, stop price or quantity for one open order (by its row id) through the
    `modify_order` intent, never as a dry run; the same checks as a cancel. `changes` holds only the
    fields the page sent (`modify_order`'s schema validates them: a bad one is `params_invalid`)."""
    user = _current_user(user)
    row, route = _open_order(order, not_open=ORDER_NOT_OPEN_TO_MODIFY)
    _require_confirmation(dry_run=False, confirmed=confirmed)
    params = {"order": row.pk, **{name: changes[name] for name in MODIFY_FIELDS if changes.get(name) is not None}}
    return _submit(user=user, intent="modify_order", params=params, dry_run=False, request_id=request_id, account=route.account)


def order_quote_command(*, user, symbol, sec_type=None, exchange=None, currency=None, request_id: str = "", account=None) -> dict:
    """The worker command for a quote (bid, ask, last), once the request and the worker are fine. With
    `account` (the account the page shows), the command carries the connection whose worker answers."""
    _current_user(user)
    _request_id_check(request_id)
    connection = _ticket_connection(account)
    if not isinstance(symbol, str) or not SYMBOL.match(symbol.strip()):
        raise ActionRefused("invalid", BAD_SYMBOL)
    sec_type = "STK" if sec_type in (None, "") else sec_type
    if not isinstance(sec_type, str) or sec_type.upper() not in SEC_TYPES:
        raise ActionRefused("invalid", BAD_SEC_TYPE)
    venues = {"exchange": exchange, "currency": currency}
    for name, value in venues.items():
        if value not in (None, "") and not (isinstance(value, str) and VENUE.match(value)):
            raise ActionRefused("invalid", BAD_VENUE.format(field=name))
    _require_worker_connected(connection)
    command = {"type": "order.quote", "symbol": symbol.strip().upper(), "sec_type": sec_type.upper(), "connection": connection}
    return command | {name: value.upper() for name, value in venues.items() if value}


def order_preview_command(*, user, params, request_id: str = "") -> dict:
    """The worker command for a preview of `place_order` with `params`, validated exactly as a run's."""
    _current_user(user)
    _request_id_check(request_id)
    if not isinstance(params, dict):
        raise ActionRefused("invalid", BAD_PARAMS)
    try:
        params, _ = split_dry_run(params, None)  # a ticket's dry-run flag says nothing about the order
        params, account = split_account(params, None)  # the account the page shows, as a run's
        clean = params_validate(intent_get("place_order"), params)
        account, connection = run_account_resolve("place_order", account)
    except IntentParamsInvalid as exc:
        raise ActionRefused("params_invalid", str(exc), exc.errors) from None
    _require_worker_connected(connection)
    # Previewed by the worker that would place it, under that account's settings rows.
    return {"type": "order.preview", "params": clean, "account": account, "connection": connection}


def worker_answer(answer: dict | None, *, timeout: float) -> dict:
    """The fields of a worker's answer for the page (`message` and `quote` or `preview`), or
    ActionRefused: its own refusal, or `worker_unavailable` when it did not answer in time."""
    if answer is None:
        raise ActionRefused("worker_unavailable", WORKER_SILENT.format(seconds=timeout))
    if not answer.get("ok"):
        raise ActionRefused(str(answer.get("error") or "server_error"), str(answer.get("message") or ""))
    return {name: value for name, value in answer.items() if name != "ok"}


def dashboard_switch_set(*, user, switch: str, on: bool, account: str | None = None) -> ActionOutcome:
    """Set the kill switch or soft stop for the active mode (a set, not a toggle: a repeat is harmless).

    On writes the common row, the strongest stop (it holds in every mode). Off releases every row that
    holds the switch for the active mode, so what the page shows is what is in force afterwards.
    With `account`, on and off write that account's own row only.
    """
    user = _current_user(user)
    if not user.is_staff or not user.has_perm(CHANGE_SETTINGS):
        raise ActionRefused("permission_denied", STAFF_ONLY)
    if switch not in SWITCHES or not isinstance(on, bool):
        raise ActionRefused("invalid", UNKNOWN_SWITCH.format(switch=switch))
    if account is not None and (not isinstance(account, str) or not account):
        raise ActionRefused("invalid", BAD_ACCOUNT)
    label = SWITCHES[switch][2]
    before = ActivityEntry.objects.aggregate(last=Max("pk"))["last"] or 0
    try:
        changes = switch_set(switch=switch, on=on, account=account, user=user, source=SOURCE)
    except (ValidationError, ValueError) as exc:
        raise ActionRefused("invalid", "; ".join(getattr(exc, "messages", [str(exc)]))) from None
    state, in_force = "on" if on else "off", switches_describe(effective_config(account=account))
    if not changes:
        return ActionOutcome(message=SWITCH_ALREADY.format(label=label, state=state, in_force=in_force), events=[_config_event()])
    rows = ", ".join(f"{change.label} settings" for change in changes)
    entries = ActivityEntry.objects.filter(pk__gt=before, kind=ActivityKind.CONFIG_CHANGE, actor=user).order_by("pk")
    events = [_config_event(), *(activity_event(entry) for entry in entries)]
    return ActionOutcome(message=SWITCH_SET.format(label=label, state=state, rows=rows, in_force=in_force), events=events)


def _open_order(order, *, not_open: str) -> tuple[Order, OrderRoute]:
    """The order row, if it is open, known to IB and reachable, with its route (order_route);
    ActionRefused otherwise."""
    row = Order.objects.filter(pk=order).first() if isinstance(order, int) and not isinstance(order, bool) else None
    if row is None:
        raise ActionRefused("order_unknown", ORDER_UNKNOWN.format(pk=order))
    if row.status not in OrderStatus.open_values():
        raise ActionRefused("order_not_open", not_open.format(pk=row.pk, symbol=row.symbol, status=row.status))
    if row.order_id <= 0:
        raise ActionRefused("order_not_open", ORDER_NO_IB_ID.format(pk=row.pk))
    route = order_route(row)
    if route.refusal:
        raise ActionRefused("order_not_open", route.refusal)
    return row, route


def _request_id_check(request_id: str) -> None:
    if request_id and not REQUEST_ID.match(str(request_id)):
        raise ActionRefused("invalid", BAD_REQUEST_ID)


def _ticket_connection(account) -> str:
    """The connection whose worker answers the ticket for `account` ("" or None: the default's)."""
    if account in (None, ""):
        return DEFAULT_CONNECTION
    if not isinstance(account, str):
        raise ActionRefused("invalid", BAD_ACCOUNT)
    try:
        return run_account_resolve("place_order", account.strip())[1]
    except IntentParamsInvalid as exc:
        raise ActionRefused("params_invalid", str(exc), exc.errors) from None


def _require_worker_connected(connection: str = DEFAULT_CONNECTION) -> None:
    """A fast no when the worker's heartbeat says it is down (the silence timeout covers the rest)."""
    from trading.worker.health import heartbeat_state, worker_name

    state = heartbeat_state(worker_name(connection))
    if not state["connected"]:
        reason = state["reason"] or "the worker is up but not connected to the gateway"
        raise ActionRefused("worker_unavailable", WORKER_DOWN.format(reason=reason))


def _submit(*, user, intent: str, params: dict, dry_run: bool, request_id: str, account: str | None = None) -> ActionOutcome:
    _request_id_check(request_id)
    # The page's request id makes a resend (after a reconnect) return the same run, never a second one.
    key = f"{SOURCE}:{user.pk}:{request_id}" if request_id else None
    try:
        run, created = run_submit(
            intent=intent, params=params, dry_run=dry_run, source=RunSource.DASHBOARD, requested_by=user, idempotency_key=key,
            account=account,
        )  # fmt: skip
    except IntentNotFound as exc:
        raise ActionRefused("intent_unknown", str(exc)) from None
    except IntentParamsInvalid as exc:
        raise ActionRefused("params_invalid", str(exc), exc.errors) from None
    except WorkerUnavailable as exc:
        raise ActionRefused("worker_unavailable", str(exc)) from None
    except IdempotencyConflict as exc:
        raise ActionRefused("duplicate_request", str(exc)) from None
    payload = run_payload(run)
    label = f"run #{run.pk} {run.intent}{' (dry run)' if run.dry_run else ''}"
    if not created:
        return ActionOutcome(message=f"{label} was already submitted ({run.status})", run=payload)
    events = [live_event("run.update", payload, mode=run.mode)]
    events += [activity_event(entry) for entry in run.activity.order_by("pk")]
    return ActionOutcome(message=f"{label} queued", run=payload, created=True, events=events)


def _current_user(user):
    """The user as the database has them now (staff rights or activity may have changed since login)."""
    fresh = get_user_model().objects.filter(pk=getattr(user, "pk", None), is_active=True).first()
    if fresh is None or not getattr(user, "is_authenticated", False):
        raise ActionRefused("not_authenticated", NOT_LOGGED_IN)
    return fresh


def _require_confirmation(*, dry_run: bool, confirmed: bool) -> None:
    if not dry_run and confirmed is not True and effective_config().mode == TradingMode.LIVE:
        raise ActionRefused("confirmation_required", CONFIRM_LIVE)


def _config_event() -> dict:
    return config_event()
