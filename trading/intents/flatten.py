"""Flattening, shared by close_all and eod_check: cancel open orders (waiting for IB to confirm), then
close positions with market orders.

With `strategies`, only the positions those strategies hold (their recorded holdings, never more than
IB says is there) are closed, and only their orders are cancelled. In a dry run every closing order is
recorded as planned and nothing is cancelled or sent.
"""

from __future__ import annotations

from ib_insync import Contract

from trading.intents.builtin.cancel_order import wait_done
from trading.intents.context import IntentContext
from trading.models import Holding
from trading.orderref import order_ref_parse

CANCEL_WAIT = 15.0


async def flatten(ctx: IntentContext, *, owner: str, strategies: list[str] | None = None, fill_wait: float = 60.0) -> dict:
    trades = [t for t in ctx.ib.openTrades() if _selected(t.order.orderRef, strategies)]
    targets = await flatten_targets(ctx, owner=owner, strategies=strategies)
    plan = {
        "cancel": [{"order_id": t.order.orderId, "symbol": t.contract.symbol, "status": t.orderStatus.status} for t in trades],
        "close": [{"symbol": c.symbol, "con_id": c.conId, "quantity": q} for c, q, _ in targets],
    }
    if ctx.dry_run:
        for contract, quantity, holder in targets:
            await _close(ctx, contract, quantity, holder)
        return {"plan": plan, "sent": False}
    for trade in trades:
        await ctx.orders.cancel(trade)
    await wait_done(trades, CANCEL_WAIT)
    closed = [await _close(ctx, contract, quantity, holder) for contract, quantity, holder in targets]
    await wait_done([p.trade for p in closed], fill_wait)
    return {"plan": plan, "sent": True, "cancelled": len(trades), "closed": [p.as_dict() for p in closed]}


async def _close(ctx: IntentContext, contract, quantity: float, owner: str):
    action = "SELL" if quantity > 0 else "BUY"
    return await ctx.orders.place(contract=contract, action=action, quantity=abs(quantity), owner=owner, order_type="MKT")


async def flatten_targets(ctx: IntentContext, *, owner: str, strategies: list[str] | None) -> list[tuple]:
    """(contract, signed quantity to close, owner of the closing order) per position to flatten."""
    positions = [p for p in ctx.ib.positions(ctx.account) if p.position]
    if not strategies:
        return [(contract_routable(p.contract), float(p.position), owner) for p in positions]
    holdings = await ctx.db(lambda: list(Holding.objects.filter(mode=ctx.mode, strategy__in=strategies).exclude(quantity=0)))
    held = {p.contract.conId: p for p in positions}
    targets = []
    for holding in holdings:
        # Never close more than IB says is there, nor flip the position.
        quantity = float(holding.quantity)
        position = held.get(holding.con_id)
        actual = float(position.position) if position else 0.0
        if actual == 0 or (actual > 0) != (quantity > 0):
            continue
        quantity = min(abs(quantity), abs(actual)) * (1 if quantity > 0 else -1)
        targets.append((contract_routable(position.contract), quantity, holding.strategy))
    return targets


def contract_routable(contract) -> Contract:
    """Positions come back with their primary exchange only; orders need a routable exchange."""
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
