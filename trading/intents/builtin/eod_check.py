"""`eod_check`: at the end of the day, flatten when `enforce_flat_eod` is on, else report exposure.

Flattening is close_all's (trading/intents/flatten.py): cancel the worker's open orders (IB's global
cancel first with `cancel_foreign_orders`), then close every position at market as closing orders
(exempt from the order limits); orders are owned by `eod_check`. What is left (another client's
working order) ends the run `partial`. Like close_all it only reduces
risk, so it runs while the kill switch is on. With the switch off it places nothing and reports the
positions, their market values (instrument currency) and IB's gross position value. A dry run returns the plan.
"""

from trading.intents.account import account_snapshot
from trading.intents.base import Intent, IntentParams
from trading.intents.builtin.reconcile import holdings_snapshot
from trading.intents.context import IntentPartial
from trading.intents.flatten import flatten
from trading.intents.registry import intent_register


@intent_register
class EodCheck(Intent):
    name = "eod_check"
    description = "End of day: flatten everything when enforce_flat_eod is on, otherwise report exposure."
    allowed_when_killed = True
    places_orders = True
    timeout = 120.0

    class Params(IntentParams):
        pass

    async def run(self, ctx, params):
        config = await ctx.fresh_config()
        if config.enforce_flat_eod:
            try:
                result = await flatten(ctx, owner=self.name, fill_wait=self.timeout / 2)
            except IntentPartial as partial:  # flattened what it could; the run ends `partial`
                raise IntentPartial(str(partial), {"enforce_flat_eod": True, **partial.result}) from None
            return {"enforce_flat_eod": True, **result}
        account = await account_snapshot(ctx)
        positions = holdings_snapshot(ctx, await ctx.ib.reqPositionsAsync())
        values = [float(p["market_value"] or 0) for p in positions]
        return {
            "enforce_flat_eod": False,
            "note": "enforce_flat_eod is off: nothing was flattened",
            "positions": positions,
            "gross_exposure": sum(abs(v) for v in values),
            "net_exposure": sum(values),
            "gross_position_value": account.number("GrossPositionValue"),
            "net_liquidation": account.number("NetLiquidation"),
        }
