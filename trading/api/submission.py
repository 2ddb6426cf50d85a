"""The API's side of the one submission path (`run_submit`): who asked, from where, and waiting.

Idempotency keys are namespaced per user (`api:<user id>:<key>`, `webhook:<user id>:<alert id>`), so two
callers who happen to pick the same key never receive each other's run.

The orders endpoints are the `place_order`, `modify_order` and `cancel_order` intents underneath; the
only thing they add is the order row they name: it must exist (404) and be open in the active mode (409).
"""

from __future__ import annotations

from dataclasses import dataclass

from console.handler import after_response
from trading.api.auth import Need, Principal, principal_allow, principal_from_token
from trading.api.errors import MSG_NUL, MSG_WAIT_TIMEOUT, VALIDATION_ERROR, ApiError, WaitTimedOut
from trading.api.schemas import RunOut, WebhookIn
from trading.intents.runs import OrderRoute, order_route, run_await, run_submit
from trading.live import reply_channel_new
from trading.models import IntentRun, Order, OrderStatus, RunSource, RunStatus

ORDER_NOT_FOUND = "order_not_found"
ORDER_NOT_OPEN = "order_not_open"
MSG_ORDER_NOT_FOUND = "no order #{order_id} (the console's order row id, as in GET /api/orders)"
MSG_ORDER_NOT_OPEN = "order #{order_id} ({symbol}) is {status}: only an open order can be changed or cancelled"

API_NAMESPACE = "api"
WEBHOOK_NAMESPACE = "webhook"


@dataclass(frozen=True)
class Submitted:
    run: IntentRun
    created: bool

    @property
    def status_code(self) -> int:
        """200 once the outcome is known, 202 while the run is queued or running."""
        return 200 if self.run.status in RunStatus.final_values() else 202


class OrderNotFound(ApiError):
    status, code = 404, ORDER_NOT_FOUND


class OrderNotOpen(ApiError):
    status, code = 409, ORDER_NOT_OPEN


def idempotency_key_for(namespace: str, user, key: str | None) -> str | None:
    return f"{namespace}:{user.pk}:{key}" if key else None


def intent_submit(
    *,
    principal: Principal,
    intent: str,
    params: dict | None,
    idempotency_key: str | None = None,
    wait: float | None = None,
    source: str | None = None,
    namespace: str = API_NAMESPACE,
) -> Submitted:
    """Submit through `run_submit`; with `wait`, wait for the outcome (the worker says when it is done, on
    the reply channel the hand-off carried: `run_await`) and raise WaitTimedOut (504) if it is late."""
    params = params or {}
    _reject_nul(params)
    reply_to = reply_channel_new() if wait else None  # the hand-off itself asks the worker to answer there
    run, created = run_submit(
        intent=intent,
        params=params,
        source=source or principal.source,
        requested_by=principal.user,
        idempotency_key=idempotency_key_for(namespace, principal.user, idempotency_key),
        reply_to=reply_to,
        reply_within=wait or 0.0,
        task_later=after_response,  # the q2 task once the response is out, not while the worker runs it
    )
    if wait and run.status not in RunStatus.final_values():
        reply_to = reply_to if created else None  # a repeated key: no hand-off was sent, so no answer is coming
        submitted = run
        # A created run is the caller's own copy: the worker's answer carries the outcome it recorded.
        run = run_await(run.pk, timeout=wait, connection=run.connection, reply_to=reply_to, submitted=run if created else None)
        if run is not submitted and run.requested_by_id == submitted.requested_by_id:
            run.requested_by = submitted.requested_by  # the caller, known already: no query for its name
        if run.status not in RunStatus.final_values():
            raise WaitTimedOut(
                MSG_WAIT_TIMEOUT.format(run_id=run.pk, wait=wait),
                run_id=run.pk,
                run=RunOut.from_orm(run).model_dump(mode="json"),
            )
    return Submitted(run=run, created=created)


def webhook_submit(alert: WebhookIn) -> Submitted:
    """Authenticate by the token in the body, then only enqueue: an alert sender never waits."""
    principal = principal_allow(principal_from_token(alert.token), Need.WRITE)
    return intent_submit(
        principal=principal,
        intent=alert.intent,
        params=alert.params,
        idempotency_key=alert.alert_id,
        source=RunSource.WEBHOOK,
        namespace=WEBHOOK_NAMESPACE,
    )


def order_get(order_id: int) -> Order:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise OrderNotFound(MSG_ORDER_NOT_FOUND.format(order_id=order_id))
    return order


def order_open_get(order_id: int) -> tuple[Order, OrderRoute]:
    """The order a change or cancel names, with its route: it exists (404), IB still works on it and its
    own connection still reaches it, trading its mode and account (409; order_route)."""
    order = order_get(order_id)
    if order.status not in OrderStatus.open_values():
        raise OrderNotOpen(MSG_ORDER_NOT_OPEN.format(order_id=order.pk, symbol=order.symbol, status=order.status))
    route = order_route(order)
    if route.refusal:
        raise OrderNotOpen(route.refusal)
    return order, route


def _reject_nul(value, loc: tuple = ()) -> None:
    """JSON may carry \\u0000; PostgreSQL cannot store it, so refuse it here with the error shape."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ApiError(
                MSG_NUL, status=422, code=VALIDATION_ERROR, errors=[{"loc": ["body", *loc], "msg": MSG_NUL, "type": "nul"}]
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key, loc)
            _reject_nul(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_nul(item, (*loc, index))
