"""A user intent file for process tests: buy a few shares at market through the order gateway."""

from ib_insync import Stock

from trading.intents import Intent, IntentParams, intent_register
from trading.intents.builtin.cancel_order import wait_done


@intent_register
class MarketBuy(Intent):
    name = "test_market_buy"
    places_orders = True

    class Params(IntentParams):
        symbol: str = "SPY"
        quantity: int = 1

    async def run(self, ctx, params):
        contract = Stock(params.symbol, "SMART", "USD")
        await ctx.qualify(contract)
        placed = await ctx.orders.place(contract=contract, action="BUY", quantity=params.quantity, owner="testsignalgenerator")
        if placed.trade is not None:
            await wait_done([placed.trade], 20)
        return {"order": placed.as_dict()}
