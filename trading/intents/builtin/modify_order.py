"""`modify_order`: a new quantity, limit price or stop price for a working order of this console.

The order is named by the console's order row id (`order`; IB's order id is not unique across
clients). The gateway checks the order as it would be exactly as it checks a new order (kill switch,
soft stop, limits, what-if) and re-places it IB's way, with the same orderId; the run ends when IB has
echoed the new terms, or fails with IB's reason.
"""

from __future__ import annotations

from pydantic import Field

from trading.intents.base import Intent
from trading.intents.builtin.place_order import OrderParams
from trading.intents.registry import intent_register

NOTHING = "give at least one of quantity, limit_price or stop_price"


@intent_register
class ModifyOrder(Intent):
    name = "modify_order"
    description = "Change the quantity, limit or stop price of a working order (by the console's order id)."
    places_orders = True
    timeout = 30.0

    class Params(OrderParams):
        order: int = Field(gt=0, description="The console's order row id (as in /api/orders).")
        quantity: float | None = Field(None, gt=0, description="New total quantity.")
        limit_price: float | None = Field(None, gt=0)
        stop_price: float | None = Field(None, gt=0)

    @classmethod
    def check(cls, params) -> list[dict]:
        if params.quantity is None and params.limit_price is None and params.stop_price is None:
            return [{"loc": ["quantity"], "msg": NOTHING, "type": "value_error"}]
        return []

    async def run(self, ctx, params):
        return await ctx.orders.modify(
            row_id=params.order, quantity=params.quantity, limit_price=params.limit_price, stop_price=params.stop_price
        )
