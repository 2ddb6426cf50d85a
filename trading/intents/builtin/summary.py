"""`summary`: account summary, portfolio, open trades and today's fills, as lists.

The account summary is ONE reqAccountSummary made now (`account_snapshot`), never ib_insync's
`accountSummaryAsync()` cache: that one is filled once and then only refreshed on IB's own clock, so
right after a fill it still held the figures of before (issue 15: GrossPositionValue 0.00 while 199 SPY
were held). `as_of` is when IB's answer arrived. `pnl` is the worker's reqPnL (account) and reqPnLSingle
(positions) streams as last pushed, each with its `at`: the same figures the dashboard and the API show.
`fills` are today's (a display-zone day) from our records, oldest first, once the worker has written
what it has seen: the session itself keeps only the last RETAIN_DONE_MINUTES (trading/worker/retention.py).
"""

import asyncio

from trading.clock import local_today
from trading.intents.account import account_snapshot
from trading.intents.base import Intent, IntentParams
from trading.intents.context import IntentError
from trading.intents.registry import intent_register
from trading.selectors import fill_list
from trading.worker.snapshots import account_value_snapshot, fill_record_snapshot, portfolio_snapshot, trade_snapshot


@intent_register
class Summary(Intent):
    name = "summary"
    description = "Account summary, portfolio, open trades and today's fills. Places nothing."
    timeout = 30.0
    reads_only = True  # claimed with its outcome: one commit less on the way to the answer

    class Params(IntentParams):
        pass

    async def run(self, ctx, params):
        # IB's answer and our records are awaited together: neither waits on the other.
        snapshot, fills = await asyncio.gather(account_snapshot(ctx), _fills_today(ctx))
        if not snapshot.rows:
            raise IntentError(f"IB returned an empty account summary for {ctx.account or 'the account'}")
        return {
            "account": ctx.account,
            "as_of": snapshot.received_at.isoformat(),
            "account_summary": [account_value_snapshot(v) for v in snapshot.rows],
            "pnl": ctx.worker.pnl.latest(ctx.account) if getattr(ctx.worker, "pnl", None) else None,
            "portfolio": [portfolio_snapshot(p) for p in ctx.ib.portfolio()],
            "open_trades": [trade_snapshot(t) for t in ctx.ib.openTrades()],
            "fills": fills,
        }


async def _fills_today(ctx) -> list[dict]:
    await ctx.flush_records()

    def read() -> list[dict]:
        rows = fill_list(mode=ctx.mode, day=local_today())
        if ctx.account:
            rows = rows.filter(account=ctx.account)
        return [fill_record_snapshot(row) for row in rows.order_by("executed_at", "id")]

    return await ctx.db_read(read)  # a read: no lease check first (the outcome's claim checks the lease)
