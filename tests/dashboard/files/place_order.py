"""A user intent file (loaded through INTENT_PATHS) for the browser test: one order, market or limit,
through the order gateway, with a name of its own: it also proves a user's intent file is loaded and
listed by the web process (the built-in `place_order` is what the ticket sends)."""

from typing import Literal

from ib_insync import Stock
from pydantic import Field

from trading.intents import Intent, IntentParams, intent_register


@intent_register
class PlaceOrderForTest(Intent):
    name = "test_place_order"
    description = "Test only: place one stock order through the order gateway."
    places_orders = True
    timeout = 30

    class Params(IntentParams):
        symbol: str = "SPY"
        action: Literal["BUY", "SELL"] = "BUY"
        quantity: int = Field(5, gt=0)
        order_type: Literal["MKT", "LMT"] = Field("MKT", alias="orderType")
        limit_price: float | None = Field(None, gt=0, alias="limitPrice")

    async def run(self, ctx, params):
        contract = Stock(params.symbol, "SMART", "USD")
        await ctx.qualify(contract)
        placed = await ctx.orders.place(
            contract=contract, action=params.action, quantity=params.quantity, order_type=params.order_type,
            limit_price=params.limit_price, owner="dashboard_test",
        )  # fmt: skip
        return {"order": placed.as_dict()}
