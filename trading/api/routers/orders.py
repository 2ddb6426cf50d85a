"""Orders the way REST clients expect them: place, look at, change and cancel one order.

They are the `place_order`, `modify_order` and `cancel_order` intents underneath (one submission path,
so the order gateway's checks, dry runs, idempotency and `wait` behave as on POST /api/intents/{name}).
`{order_id}` is the console's order row id: IB's order id is only unique per client.

`GET /api/orders` (the list) lives with the other records; api.py merges the two routers' `/orders`.
"""

from typing import Annotated

from ninja import Header, Path, Query, Router, Status

from trading.api.auth import WRITE
from trading.api.filters import MAX_ID, WaitQuery
from trading.api.responses import responses
from trading.api.routers.intents import IdempotencyKey
from trading.api.schemas import OrderChangeIn, OrderIn, OrderOut, OrderRunOut
from trading.api.submission import Submitted, intent_submit, order_get, order_open_get
from trading.intents.runs import OrderRoute

router = Router(tags=["orders"])

PLACE, MODIFY, CANCEL = "place_order", "modify_order", "cancel_order"
ORDER_ID = "The console's order row id (`id` in GET /api/orders)."
Key = Annotated[IdempotencyKey | None, Header(alias="Idempotency-Key")]
ANSWERS = responses({200: OrderRunOut, 202: OrderRunOut}, 400, 404, 409, 503, 504)


@router.post(
    "/orders",
    auth=WRITE,
    response=ANSWERS,
    summary="Place an order",
    description=(
        "The `place_order` intent: one order, or a bracket with `take_profit`/`stop_loss`. 202 while the run is "
        "queued or running, 200 once it is final; `orders` lists the run's orders once the worker placed them "
        "(three for a bracket). `Idempotency-Key` and `wait` as on POST /api/intents/{name}."
    ),
)
def order_place(request, order: OrderIn, query: Query[WaitQuery], idempotency_key: Key = None):
    submitted = intent_submit(
        principal=request.auth, intent=PLACE, params=order.as_params(), idempotency_key=idempotency_key, wait=query.wait
    )
    return _answer(submitted, list(submitted.run.orders.order_by("pk")))


@router.get("/orders/{int:order_id}", response=responses({200: OrderOut}, 404), summary="One order")
def order_get_one(request, order_id: int = Path(..., ge=1, le=MAX_ID, description=ORDER_ID)):
    return order_get(order_id)


@router.patch(
    "/orders/{int:order_id}",
    auth=WRITE,
    response=ANSWERS,
    summary="Change a working order",
    description="The `modify_order` intent: a new limit price, stop price or quantity. 409 when the order is not open.",
)
def order_modify(
    request,
    change: OrderChangeIn,
    query: Query[WaitQuery],
    order_id: int = Path(..., ge=1, le=MAX_ID, description=ORDER_ID),
    idempotency_key: Key = None,
):
    order, route = order_open_get(order_id)
    params = {"order": order.pk, **change.as_params(), **_account_of(route)}
    submitted = intent_submit(
        principal=request.auth, intent=MODIFY, params=params, idempotency_key=idempotency_key, wait=query.wait
    )
    return _answer(submitted, [order])


@router.delete(
    "/orders/{int:order_id}",
    auth=WRITE,
    response=ANSWERS,
    summary="Cancel a working order",
    description=(
        "The `cancel_order` intent, never a dry run (a cancel only reduces risk, as on the dashboard). "
        "409 when the order is not open."
    ),
)
def order_cancel(
    request,
    query: Query[WaitQuery],
    order_id: int = Path(..., ge=1, le=MAX_ID, description=ORDER_ID),
    idempotency_key: Key = None,
):
    order, route = order_open_get(order_id)
    params = {"order": order.pk, "dryRun": False, **_account_of(route)}
    submitted = intent_submit(
        principal=request.auth, intent=CANCEL, params=params, idempotency_key=idempotency_key, wait=query.wait
    )
    return _answer(submitted, [order])


def _answer(submitted: Submitted, orders: list) -> Status:
    for order in orders:
        order.refresh_from_db()  # the worker may have moved it while we waited
    return Status(submitted.status_code, {"run": submitted.run, "orders": orders})


def _account_of(route: OrderRoute) -> dict:
    """A change or cancel goes to the worker of the order's own connection (order_route names one of its
    accounts when several are known)."""
    return {"account": route.account} if route.account else {}
