"""`reconcile`: a portfolio snapshot — net liquidation, available funds, buying power, holdings and
open orders — stored as a PortfolioSnapshot row and returned.

The seed wrote it to `positions/{mode}/latest_portfolio`, an invalid Firestore document path, so it was
never stored; here it is one row per run (the newest is the latest portfolio). Places nothing.
"""

from decimal import Decimal

from trading.intents.account import account_snapshot
from trading.intents.base import Intent, IntentParams
from trading.intents.registry import intent_register
from trading.models import PortfolioSnapshot
from trading.worker.snapshots import portfolio_snapshot, position_snapshot, trade_snapshot


@intent_register
class Reconcile(Intent):
    name = "reconcile"
    description = (
        "Snapshot the portfolio (net liquidation, available funds, buying power, holdings, open orders). Places nothing."
    )
    timeout = 30.0

    class Params(IntentParams):
        pass

    async def run(self, ctx, params):
        account = await account_snapshot(ctx)
        await ctx.ib.reqAllOpenOrdersAsync()  # every client's orders, TWS's included
        positions = await ctx.ib.reqPositionsAsync()
        holdings = holdings_snapshot(ctx, positions)
        open_orders = [trade_snapshot(t) for t in ctx.ib.openTrades() if not ctx.account or t.order.account in ("", ctx.account)]
        snapshot = await ctx.db(
            PortfolioSnapshot.objects.create,
            mode=ctx.mode,
            connection=ctx.connection,
            account=ctx.account,
            net_liquidation=_money(account.number("NetLiquidation")),
            available_funds=_money(account.number("AvailableFunds")),
            buying_power=_money(account.number("BuyingPower")),
            holdings=holdings,
            open_orders=open_orders,
            run=ctx.run,
        )
        return {
            "snapshot": snapshot.pk,
            "taken_at": snapshot.taken_at.isoformat(),
            "account": ctx.account,
            "base_currency": account.base_currency,
            "net_liquidation": _text(snapshot.net_liquidation),
            "available_funds": _text(snapshot.available_funds),
            "buying_power": _text(snapshot.buying_power),
            "holdings": holdings,
            "open_orders": open_orders,
        }


def holdings_snapshot(ctx, positions) -> list[dict]:
    """Every non-zero position, with IB's market value and P&L where the portfolio has them."""
    portfolio = {item.contract.conId: portfolio_snapshot(item) for item in ctx.ib.portfolio(ctx.account)}
    holdings = []
    for position in positions:
        if not position.position or (ctx.account and position.account != ctx.account):
            continue
        row = position_snapshot(position)
        extra = portfolio.get(position.contract.conId, {})
        for key in ("market_price", "market_value", "unrealized_pnl", "realized_pnl"):
            row[key] = extra.get(key)
        holdings.append(row)
    return holdings


def _money(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
