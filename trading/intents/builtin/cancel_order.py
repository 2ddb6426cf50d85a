"""`cancel_order`: cancel one open order of this console, by the console's order row id (`order`) or
by IB order id (`orderId`, the dashboard's cancel button), and wait for IB's answer."""

from pydantic import Field, model_validator

from trading.intents.base import Intent, IntentParams
from trading.intents.context import IntentError
from trading.intents.flatten import wait_quietly
from trading.intents.registry import intent_register
from trading.models import Order as OrderRow

NOT_OPEN = "order {order_id} is not an open order of this console"
ROW_NOT_OPEN = "order {order} is not an open order of this console"
ONE_ID = "give exactly one of order (the console's order id) or orderId (IB's)"
CANCEL_WAIT = 10.0


@intent_register
class CancelOrder(Intent):
    name = "cancel_order"
    description = "Cancel one open order by the console's order id (or IB's order id) and wait for IB's confirmation."
    allowed_when_killed = True
    timeout = 20.0

    class Params(IntentParams):
        order: int | None = Field(None, gt=0, description="The console's order row id.")
        order_id: int | None = Field(None, gt=0, alias="orderId", description="IB order id (as shown on the dashboard).")

        @model_validator(mode="after")
        def _one_id(self):
            if (self.order is None) == (self.order_id is None):
                raise ValueError(ONE_ID)
            return self

    async def run(self, ctx, params):
        trade = await _open_trade(ctx, params)
        order_id = trade.order.orderId
        if ctx.dry_run:
            return {"planned": [{"cancel": order_id, "order": params.order, "symbol": trade.contract.symbol}], "sent": False}
        await ctx.orders.cancel(trade)
        await wait_done([trade], CANCEL_WAIT)
        return {"order": params.order, "order_id": order_id, "status": trade.orderStatus.status, "sent": True}


async def _open_trade(ctx, params):
    ib = ctx.ib
    if params.order is None:
        trade = next((t for t in ib.openTrades() if t.order.orderId == params.order_id), None)
        if trade is None:
            raise IntentError(NOT_OPEN.format(order_id=params.order_id))
        return trade
    # only this connection's row: another gateway's order id names another order here, or none
    row = await ctx.db(lambda: OrderRow.objects.filter(pk=params.order, mode=ctx.mode, connection=ctx.connection).first())
    trade = None
    if row is not None and row.order_id and row.client_id == ib.client.clientId:
        trade = next((t for t in ib.openTrades() if (t.order.clientId, t.order.orderId) == (row.client_id, row.order_id)), None)
    if trade is None:
        raise IntentError(ROW_NOT_OPEN.format(order=params.order))
    return trade


async def wait_done(trades, timeout: float) -> None:
    """Wait on IB's own status events (no fixed sleep) until every trade is done, or IntentError."""
    late = await wait_quietly(trades, timeout)
    if late:
        raise IntentError(f"IB did not confirm order {late[0].order.orderId} within {timeout:.0f}s")
