"""An example user intent: drop a file like this in `intents/` (or a folder named in INTENT_PATHS) and it
is loaded at start, listed by the API, the CLI, the admin and the dashboard, and run by the IB worker.

    python manage.py runintent example_hello --param who=desk

It places nothing: it greets, and reports IB's clock and the account's net liquidation.
"""

from trading.intents import Intent, IntentParams, intent_register
from trading.intents.account import account_snapshot


@intent_register
class ExampleHello(Intent):
    name = "example_hello"
    description = "Example user intent: say hello with IB's time and the account's net liquidation. Places nothing."
    timeout = 15.0

    class Params(IntentParams):
        who: str = "world"

    async def run(self, ctx, params):
        ib_time = await ctx.ib.reqCurrentTimeAsync()
        account = await account_snapshot(ctx)
        await ctx.log(f"hello {params.who}")
        return {
            "greeting": f"hello {params.who}",
            "ib_time": ib_time.isoformat(),
            "account": ctx.account,
            "net_liquidation": account.number("NetLiquidation"),
            "mode": ctx.mode,
            "dry_run": ctx.dry_run,
        }
