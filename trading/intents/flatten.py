"""Flattening, shared by close_all and eod_check: close_all always flattens what it can.

1. Ask IB for every client's working orders (`reqAllOpenOrders`: the worker's, other API clients',
   TWS's manual ones).
2. With `cancel_foreign_orders` on (and no `strategies`), send IB's global cancel first: it cancels
   every working order of every client and of TWS.
3. Cancel this worker's own orders and wait for IB to confirm. Orders of other clients are never
   cancelled one by one (IB answers 10147: only the placing client may) and never waited on.
4. Close every position through the order gateway as *closing* orders, all at once
   (`OrderGateway.place_closing`): market orders unless the caller asks for LMT; reduce-only (toward
   zero, never past it, counting own working orders) and exempt from the quantity, notional and symbol
   limits — a limit written to stop risk must not keep risk on. The exemption is recorded in the
   order's activity payload. Every row and activity entry is written in one transaction before the
   first order goes, then the orders go at IB's pace and their fills are awaited together. A refused
   or unsent close does not stop the others.
5. What is left — a foreign order still working (by id, client/owner and status; `would_reopen` when
   it would take a position away from zero once flattened), a cancel IB did not confirm, a close that
   was refused, not sent or not filled in time — ends the run `partial` (IntentPartial) with the list.

With `strategies`, only the positions those strategies hold (their recorded holdings, never more than
IB says is there) are closed, only their orders are cancelled, and only foreign orders on the contracts
being closed are reported; global cancel is not used (it would cancel other strategies' orders). In a
dry run every closing order is recorded as planned and nothing is cancelled or sent.
"""

from __future__ import annotations

import asyncio

from trading.iblib import Contract
from trading.intents.context import IntentContext, IntentPartial
from trading.intents.trade_wait import trades_wait
from trading.orderref import order_ref_parse
from trading.selectors import holding_quantities

CANCEL_WAIT = 15.0
ORDERS_WAIT = 10.0
ORDERS_UNANSWERED = "IB did not list the working orders within {seconds:g}s; going on with the {count} this session knows"
GLOBAL_CANCEL_WAIT = 5.0
LEFT_OVER = "{owner} flattened what it could; {count} item(s) left: {items}"
FOREIGN = "order {order_id} of {owner} ({action} {remaining:g} {symbol}, {status}){reopen}"
REOPEN = " would reopen {symbol} once flattened"
NOT_CONFIRMED = "cancel of order {order_id} ({symbol}) not confirmed by IB within {seconds:.0f}s"
NOT_FILLED = "closing order {order_id} ({action} {quantity:g} {symbol}) not filled within {seconds:.0f}s ({status})"


async def flatten(
    ctx: IntentContext, *, owner: str, strategies: list[str] | None = None, fill_wait: float = 60.0, order_type: str = "MKT"
) -> dict:
    config = await ctx.fresh_config()
    ib = ctx.ib
    working = await _working_orders(ctx)
    own = [t for t in working if _is_own(ib, t) and _selected(t.order.orderRef, strategies)]
    start = {p.contract.conId: float(p.position) for p in ib.positions(ctx.account) if p.position}
    targets = await flatten_targets(ctx, owner=owner, strategies=strategies)
    closing = {c.conId for c, _, _ in targets}
    foreign = [t for t in working if not _is_own(ib, t) and (not strategies or t.contract.conId in closing)]
    plan = {
        "cancel": [_describe(t) for t in own],
        "close": [{"symbol": c.symbol, "con_id": c.conId, "quantity": q} for c, q, _ in targets],
        "foreign": [_describe(t) for t in foreign],
    }
    if ctx.dry_run:
        _, refused = await ctx.orders.place_closing(targets, order_type=order_type)
        return {"plan": plan, "sent": False, **({"refused": refused} if refused else {})}

    global_cancel = bool(config.cancel_foreign_orders and not strategies)
    if global_cancel:
        ib.reqGlobalCancel()
    left: list[str] = []
    for trade in own:
        await ctx.orders.cancel(trade)
    left += [
        NOT_CONFIRMED.format(order_id=t.order.orderId, symbol=t.contract.symbol, seconds=CANCEL_WAIT)
        for t in await wait_quietly(own, CANCEL_WAIT)
    ]
    if global_cancel and foreign:
        foreign = await _still_working(ctx, foreign)

    closes = [(contract, _left(ctx, contract, quantity), holder) for contract, quantity, holder in targets]
    closed, failures = await ctx.orders.place_closing([close for close in closes if close[1]], order_type=order_type)
    for trade in await wait_quietly([p.trade for p in closed], fill_wait):
        failures.append(
            NOT_FILLED.format(
                order_id=trade.order.orderId, action=trade.order.action, quantity=float(trade.order.totalQuantity),
                symbol=trade.contract.symbol, seconds=fill_wait, status=trade.orderStatus.status,
            )
        )  # fmt: skip

    after = _positions_after(start, closed)
    foreign_report = [_describe(t, position_after=after.get(t.contract.conId, 0.0)) for t in foreign]
    result = {
        "plan": plan,
        "sent": True,
        "global_cancel": global_cancel,
        "cancelled": len(own),
        "closed": [p.as_dict() for p in closed],
        "foreign_orders": foreign_report,
    }
    left += failures + [_foreign_line(f) for f in foreign_report]
    if left:
        result["left"] = left
        raise IntentPartial(LEFT_OVER.format(owner=owner, count=len(left), items="; ".join(left)), result)
    return result


async def _working_orders(ctx: IntentContext) -> list:
    """Every client's working orders as IB lists them now. An unanswered request must not keep
    positions open: after ORDERS_WAIT the orders this session already knows stand in, and the run
    says so."""
    try:
        return await asyncio.wait_for(ctx.ib.reqAllOpenOrdersAsync(), ORDERS_WAIT)
    except TimeoutError:
        known = ctx.ib.openTrades()
        await ctx.log(ORDERS_UNANSWERED.format(seconds=ORDERS_WAIT, count=len(known)))
        return known


def _left(ctx: IntentContext, contract, quantity: float) -> float:
    """What to close of `quantity` net of this worker's own orders still working (a cancel IB did not
    confirm), so the close and that order together never take the position past zero (0: nothing)."""
    remaining = quantity + ctx.orders.working_quantity(contract)
    if remaining == 0 or remaining * quantity < 0:
        return 0.0
    return quantity if abs(remaining) > abs(quantity) else remaining


async def wait_quietly(trades, timeout: float) -> list:
    """Wait on IB's own status events (no fixed sleep) until every trade is done or the time is up;
    return the trades still not done. Never raises: what is left is reported, not fatal."""
    return await trades_wait(trades, lambda trade: trade.isDone(), timeout)


async def _still_working(ctx: IntentContext, foreign: list) -> list:
    """After a global cancel: other clients' orders IB still lists as open (their status events go to
    the master client, not to us, so ask again until they are gone or the wait is over)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GLOBAL_CANCEL_WAIT
    keys = {_key(t) for t in foreign}
    while True:
        open_now = [t for t in await _working_orders(ctx) if _key(t) in keys]
        if not open_now or loop.time() >= deadline:
            return open_now
        await asyncio.sleep(0.2)  # polling IB at a bounded rate; there is no event to wait on


def _positions_after(start: dict[int, float], closed) -> dict[int, float]:
    """Each contract's position once the closing orders sent here have filled."""
    after = dict(start)
    for placed in closed:
        con_id = placed.trade.contract.conId
        after[con_id] = after.get(con_id, 0.0) + (placed.quantity if placed.action == "BUY" else -placed.quantity)
    return after


def _is_own(ib, trade) -> bool:
    """An order this worker can cancel: placed by its client id (TWS's manual orders have id ≤ 0)."""
    return trade.order.clientId == ib.client.clientId and trade.order.orderId > 0


def _key(trade) -> tuple:
    return (trade.order.permId,) if trade.order.permId else (trade.order.clientId, trade.order.orderId)


def _describe(trade, *, position_after: float | None = None) -> dict:
    order = trade.order
    remaining = float(order.totalQuantity) - float(trade.filled())
    out = {
        "order_id": order.orderId,
        "perm_id": order.permId,
        "client_id": order.clientId,
        "owner": _owner(order),
        "symbol": trade.contract.symbol,
        "con_id": trade.contract.conId,
        "action": order.action,
        "remaining": remaining,
        "order_type": order.orderType,
        "status": trade.orderStatus.status,
    }
    if position_after is not None:
        signed = remaining if order.action == "BUY" else -remaining
        reaches = position_after + signed
        out["position_after_flatten"] = position_after
        out["would_reopen"] = abs(reaches) > abs(position_after) or reaches * position_after < 0
    return out


def _owner(order) -> str:
    if order.clientId == 0 and order.orderId <= 0:
        return "TWS (manual order)"
    ref = order_ref_parse(order.orderRef)
    return f"client {order.clientId}" + (
        f" ({ref.owner})" if ref else f" (orderRef {order.orderRef!r})" if order.orderRef else ""
    )


def _foreign_line(report: dict) -> str:
    reopen = REOPEN.format(symbol=report["symbol"]) if report.get("would_reopen") else ""
    return FOREIGN.format(
        order_id=report["order_id"], owner=report["owner"], action=report["action"], remaining=report["remaining"],
        symbol=report["symbol"], status=report["status"], reopen=reopen,
    )  # fmt: skip


async def flatten_targets(ctx: IntentContext, *, owner: str, strategies: list[str] | None) -> list[tuple]:
    """(contract, signed quantity to close, owner of the closing order) per position to flatten."""
    positions = [p for p in ctx.ib.positions(ctx.account) if p.position]
    if not strategies:
        return [(contract_routable(p.contract), float(p.position), owner) for p in positions]
    holdings = await ctx.db(holding_quantities, mode=ctx.mode, account=ctx.account, strategies=strategies)
    held = {p.contract.conId: p for p in positions}
    targets = []
    for strategy, con_id, quantity in [(s, c, float(q)) for s, by_contract in holdings.items() for c, q in by_contract.items()]:
        # Never close more than IB says is there, nor flip the position.
        position = held.get(con_id)
        actual = float(position.position) if position else 0.0
        if actual == 0 or (actual > 0) != (quantity > 0):
            continue
        quantity = min(abs(quantity), abs(actual)) * (1 if quantity > 0 else -1)
        targets.append((contract_routable(position.contract), quantity, strategy))
    return targets


SMART_ROUTED = ("STK", "OPT", "WAR", "FUND")  # what IB's SMART router takes; futures go to their exchange


def contract_routable(contract) -> Contract:
    """Positions come back with their listing exchange only; orders need a routable one: SMART for
    stocks and options, IDEALPRO for FX, and a future's (or any other's) own exchange — IB refuses a
    future sent to SMART (error 200)."""
    routed = Contract.create(conId=contract.conId, symbol=contract.symbol, secType=contract.secType, currency=contract.currency)
    if contract.secType == "CASH":
        routed.exchange, routed.localSymbol = "IDEALPRO", contract.localSymbol
    elif contract.secType in SMART_ROUTED:
        routed.exchange = "SMART"
    else:
        routed.exchange = contract.exchange or contract.primaryExchange or "SMART"
        routed.localSymbol = contract.localSymbol
    return routed


def _selected(order_ref: str, strategies) -> bool:
    if not strategies:
        return True
    ref = order_ref_parse(order_ref)
    return ref is not None and ref.owner in strategies
