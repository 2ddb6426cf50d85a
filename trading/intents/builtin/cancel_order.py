"""`cancel_order`: cancel one open order by IB order id (the dashboard's cancel button)."""

from pydantic import Field

from trading.intents.base import Intent, IntentParams
from trading.intents.context import IntentError
from trading.intents.flatten import wait_quietly
from trading.intents.registry import intent_register

NOT_OPEN = "order {order_id} is not an open order of this console"
CANCEL_WAIT = 10.0


@intent_register
class CancelOrder(Intent):
    name = "cancel_order"
    description = "Cancel one open order by its IB order id and wait for IB's confirmation."
    allowed_when_killed = True
    timeout = 20.0

    class Params(IntentParams):
        order_id: int = Field(gt=0, alias="orderId", description="IB order id (as shown on the dashboard).")

    async def run(self, ctx, params):
        trade = next((t for t in ctx.ib.openTrades() if t.order.orderId == params.order_id), None)
        if trade is None:
            raise IntentError(NOT_OPEN.format(order_id=params.order_id))
        if ctx.dry_run:
            return {"planned": [{"cancel": params.order_id, "symbol": trade.contract.symbol}], "sent": False}
        await ctx.orders.cancel(trade)
        await wait_done([trade], CANCEL_WAIT)
        return {"order_id": params.order_id, "status": trade.orderStatus.status, "sent": True}


async def wait_done(trades, timeout: float) -> None:
    """Wait on IB's own status events (no fixed sleep) until every trade is done, or IntentError."""
    late = await wait_quietly(trades, timeout)
    if late:
        raise IntentError(f"IB did not confirm order {late[0].order.orderId} within {timeout:.0f}s")
