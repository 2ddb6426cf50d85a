"""`summary`: account summary, portfolio, open trades and today's fills, as lists.

The seed's summary returned an empty account summary (it read a cache nothing had filled); this one
asks IB and waits for the answer.
"""

from trading.intents.base import Intent, IntentParams
from trading.intents.context import IntentError
from trading.intents.registry import intent_register
from trading.worker.snapshots import account_value_snapshot, fill_snapshot, portfolio_snapshot, trade_snapshot


@intent_register
class Summary(Intent):
    name = "summary"
    description = "Account summary, portfolio, open trades and today's fills. Places nothing."
    timeout = 30.0

    class Params(IntentParams):
        pass

    async def run(self, ctx, params):
        values = await ctx.ib.accountSummaryAsync(ctx.account)
        if not values:
            raise IntentError(f"IB returned an empty account summary for {ctx.account or 'the account'}")
        return {
            "account": ctx.account,
            "account_summary": [account_value_snapshot(v) for v in values],
            "portfolio": [portfolio_snapshot(p) for p in ctx.ib.portfolio()],
            "open_trades": [trade_snapshot(t) for t in ctx.ib.openTrades()],
            "fills": [fill_snapshot(f) for f in ctx.ib.fills()],
        }
