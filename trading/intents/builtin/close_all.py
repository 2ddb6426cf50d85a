"""`close_all`: cancel every open order (waiting for IB to confirm), then flatten positions.

Allowed while the kill switch is on: it only reduces risk. With `strategies`, only the positions those
strategies hold are closed (their recorded holdings), and only their orders are cancelled.
"""

from trading.intents.base import Intent, IntentParams
from trading.intents.builtin.cancel_order import wait_done
from trading.intents.registry import intent_register
from trading.models import Holding, Strategy
from trading.orderref import order_ref_parse

CANCEL_WAIT = 15.0


@intent_register
class CloseAll(Intent):
    name = "close_all"
    description = "Cancel open orders, then flatten every position (or only the given strategies' holdings)."
    allowed_when_killed = True
    places_orders = True
    timeout = 120.0

    class Params(IntentParams):
        strategies: list[str] | None = None

    @classmethod
    def check(cls, params) -> list[dict]:
        return strategies_unknown(params.strategies)

    async def run(self, ctx, params):
        trades = [t for t in ctx.ib.openTrades() if _selected(t.order.orderRef, params.strategies)]
        targets = await self._targets(ctx, params.strategies)
        plan = {
            "cancel": [{"order_id": t.order.orderId, "symbol": t.contract.symbol, "status": t.orderStatus.status} for t in trades],
            "close": [{"symbol": c.symbol, "con_id": c.conId, "quantity": q} for c, q, _ in targets],
        }
        if ctx.dry_run:
            for contract, quantity, owner in targets:
                await ctx.orders.place(contract=contract, action="SELL" if quantity > 0 else "BUY", quantity=abs(quantity), owner=owner, order_type="MKT")
            return {"plan": plan, "sent": False}
        for trade in trades:
            await ctx.orders.cancel(trade)
        await wait_done(trades, CANCEL_WAIT)
        closed = []
        for contract, quantity, owner in targets:
            placed = await ctx.orders.place(
                contract=contract, action="SELL" if quantity > 0 else "BUY", quantity=abs(quantity), owner=owner, order_type="MKT"
            )
            closed.append(placed)
        await wait_done([p.trade for p in closed], self.timeout / 2)
        return {"plan": plan, "sent": True, "cancelled": len(trades), "closed": [p.as_dict() for p in closed]}

    async def _targets(self, ctx, strategies):
        """(contract, signed quantity to close, owner) per position to flatten."""
        if not strategies:
            positions = [p for p in ctx.ib.positions(ctx.account) if p.position]
            contracts = [_routable(p.contract) for p in positions]
            return [(c, float(p.position), "close_all") for c, p in zip(contracts, positions, strict=True)]
        holdings = await ctx.db(lambda: list(Holding.objects.filter(mode=ctx.mode, strategy__in=strategies).exclude(quantity=0)))
        held = {p.contract.conId: float(p.position) for p in ctx.ib.positions(ctx.account)}
        targets = []
        for holding in holdings:
            # Never close more than IB says is there, nor flip the position.
            quantity = float(holding.quantity)
            actual = held.get(holding.con_id, 0.0)
            if actual == 0 or (actual > 0) != (quantity > 0):
                continue
            quantity = min(abs(quantity), abs(actual)) * (1 if quantity > 0 else -1)
            contract = next(_routable(p.contract) for p in ctx.ib.positions(ctx.account) if p.contract.conId == holding.con_id)
            targets.append((contract, quantity, holding.strategy))
        return targets


def _routable(contract):
    """Positions come back with their primary exchange only; orders need a routable exchange."""
    from ib_insync import Contract

    routed = Contract.create(conId=contract.conId, symbol=contract.symbol, secType=contract.secType, currency=contract.currency)
    routed.exchange = "IDEALPRO" if contract.secType == "CASH" else "SMART"
    if contract.secType == "CASH":
        routed.localSymbol = contract.localSymbol
    return routed


def _selected(order_ref: str, strategies) -> bool:
    if not strategies:
        return True
    ref = order_ref_parse(order_ref)
    return ref is not None and ref.owner in strategies


def strategies_unknown(strategies: list[str] | None) -> list[dict]:
    """Submission-time check: every named strategy must exist (errors in the schema's error shape)."""
    if not strategies:
        return []
    known = set(Strategy.objects.filter(strategy_id__in=strategies).values_list("strategy_id", flat=True))
    return [
        {"loc": ["strategies", i], "msg": f"unknown strategy {name!r}", "type": "unknown_strategy"}
        for i, name in enumerate(strategies)
        if name not in known
    ]

