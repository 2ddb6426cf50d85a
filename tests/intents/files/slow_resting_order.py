"""A user intent file (loaded through INTENT_PATHS) used by the crash test: it places a resting limit
order through the order gateway and then takes its time, so the worker can be killed mid-run."""

import asyncio

from ib_insync import Stock

from trading.intents import Intent, IntentParams, intent_register


@intent_register
class SlowRestingOrder(Intent):
    name = "test_slow_resting_order"
    places_orders = True
    timeout = 120

    class Params(IntentParams):
        price: float = 50.0

    async def run(self, ctx, params):
        contract = Stock("IWM", "SMART", "USD")
        await ctx.qualify(contract)
        await ctx.orders.place(contract=contract, action="BUY", quantity=3, order_type="LMT", limit_price=params.price, owner="spy_macd_vixy")
        await asyncio.sleep(60)  # the test kills the worker here
        return {"finished": True}
