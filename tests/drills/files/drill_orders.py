"""User intents for the drills: `drill_orders` places orders through the order gateway; `drill_history` asks for bars the way
the strategies do (trading.intents.strategy.history).

A limit order rests until the drill moves the price through it; `hold` keeps the run going (so the
worker can be killed mid-run) after its orders are placed, one `pause` apart.
"""

import asyncio

from ib_insync import Stock

from trading.intents import Intent, IntentParams, intent_register


@intent_register
class DrillOrders(Intent):
    name = "drill_orders"
    places_orders = True
    timeout = 120

    class Params(IntentParams):
        symbols: list[str] = ["SPY"]
        action: str = "BUY"
        quantity: int = 1
        price: float | None = None  # None: market order
        pause: float = 0.0
        hold: float = 0.0

    async def run(self, ctx, params):
        placed = []
        for symbol in params.symbols:
            contract = Stock(symbol, "SMART", "USD")
            await ctx.qualify(contract)
            order_type = "MKT" if params.price is None else "LMT"
            order = await ctx.orders.place(
                contract=contract, action=params.action, quantity=params.quantity, order_type=order_type,
                limit_price=params.price, owner="drill",
            )  # fmt: skip
            placed.append(order.as_dict())
            await asyncio.sleep(params.pause)
        await asyncio.sleep(params.hold)
        return {"placed": placed}


@intent_register
class DrillHistory(Intent):
    name = "drill_history"
    timeout = 30

    class Params(IntentParams):
        symbol: str = "SPY"

    async def run(self, ctx, params):
        from trading.intents.strategy import history

        contract = Stock(params.symbol, "SMART", "USD")
        await ctx.qualify(contract)
        bars = await history(ctx, contract, duration="2 D", bar_size="1 hour")  # what the strategies use
        return {"bars": len(bars)}
