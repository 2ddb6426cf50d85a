"""The one order gateway: every order any intent sends goes through `OrderGateway.place`.

In order, for each order: quantity sane → settings read now (never cached) for the worker's own
connection's mode (common + that mode's rows; the console's active mode is only the dashboard's default
view) → the settings are that mode's → kill switch (only close_all, eod_check and cancels pass) → reduce-only → risk limits
(max quantity, max notional, allowed symbols; closing orders are exempt, and the exemption is
recorded) → the same run has not placed this order already → optional IB what-if margin check (not
for closing orders) → tagged with orderRef, recorded with its activity entry → sent (or, in a dry
run, recorded as planned and not sent). A refusal is recorded too, then raised.

Each rule reports `(rule, ok, message)` to a checklist. For `place` and `modify` the checklist is
strict: the first failure raises `OrderRefused` with the rule's constant message, exactly as if the
rule had raised. `preview` runs the very same rules with a collecting checklist, asks IB's what-if,
and records nothing and sends nothing: the order ticket shows which rule would refuse the order.

Reduce-only means reduce. Under soft stop, under the kill switch (for the intents allowed while
killed), for `reduce_only=True` and for closing orders, an order may only move a position toward zero
and never past it: with `before` the position plus what this worker's own working orders for the
contract will still do when they fill, and `after` = before + this order, `0 ≤ after/before ≤ 1`
(same sign or zero, no larger). Nothing to reduce (before = 0) refuses every order. Working orders of
other clients are not counted: this worker cannot cancel them, and close_all reports them instead.

An order that IB never received (the socket was gone) is not left PendingSubmit: its row becomes
`NotSent` with the error, and the caller gets `OrderNotSent`. Rows that never reached IB carry no
IB order id (IB hands an id it never received out again after a reconnect); the id is in the reason.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field, replace
from decimal import Decimal

from trading.config import EffectiveConfig, effective_config
from trading.iblib import UNSET_DOUBLE, Order
from trading.intents.context import IntentContext, IntentError
from trading.intents.order_build import (
    OrderSpec,
    bracket_children,
    bracket_link,
    limit_from_quote,
    order_build,
    spec_problems,
)
from trading.intents.order_records import modify_record, order_not_sent, order_record, order_records_write, orders_unsent
from trading.models import Order as OrderRow
from trading.models import OrderStatus
from trading.models.config import OrderType
from trading.orderref import order_ref_build

__all__ = ["Check", "OrderGateway", "OrderNotSent", "OrderRefused", "PlacedOrder", "order_not_sent"]

KILL_SWITCH = "trading is disabled (kill switch): only close_all, eod_check and cancels may send orders"
REDUCE_ONLY = (
    "{why}: {action} {quantity:g} {symbol} would take the position from {before:g} to {after:g}{working}"
    " — reduce-only orders may only move a position toward zero, never past it"
)
WHY_SOFT_STOP = "soft stop is on"
WHY_KILLED = "trading is disabled (kill switch)"
WHY_REDUCE_ONLY = "the order is reduce-only"
WHY_CLOSING = "a closing order"
WORKING = " (counting {quantity:+g} on this worker's working orders)"
NOT_SENT = "{action} {quantity:g} {symbol} (order {order_id}) was not sent: {error}"
MODE_MISMATCH = "the worker trades {worker} but the settings read are {active}'s: an order is checked against its connection's mode"
MAX_QUANTITY = "{quantity} {symbol} exceeds the maximum order quantity {limit}"
MAX_NOTIONAL = "{quantity} {symbol} at ~{price:.2f} is {notional:.0f}, over the maximum order notional {limit}"
NOT_ALLOWED = "{symbol} is not in the allowed symbols ({allowed})"
DUPLICATE = "run #{run} already has an open {action} {quantity} {symbol} order (order {order_id})"
BAD_QUANTITY = "order quantity must be positive, got {quantity}"
BAD_ACTION = "order action must be BUY or SELL, got {action!r}"
BAD_ORDER = "not an order IB would take: {problems}"
WHAT_IF = "IB's what-if check refused {action} {quantity} {symbol}: {reason}"
BRACKET_REDUCE_ONLY = "{why}: a bracket is refused, its exits would reopen what a reduce-only entry closes"
NOT_WORKING = "order {order} is not a working order of this console"
MODIFY_NOTHING = "nothing to modify: give a new quantity, limit_price or stop_price"
MODIFY_FIELD = "{field} does not apply to order {order} ({order_type})"
MODIFY_FILLED = "order {order} has filled {filled:g}: the new quantity must be more than that"
MODIFY_BRACKET = "order {order} is part of a bracket: its quantity cannot change alone (cancel and place it again)"
MODIFY_UNCONFIRMED = "IB did not confirm the modify of order {order_id} within {seconds:.0f}s"
MODIFY_REJECTED = "IB refused the modify of order {order_id}: {error}"
MODIFY_WAIT = 10.0
CLOSING_FAILED = "closing {symbol}: {reason}"
# What a preview says of a rule the order passes (a refusal says the rule's refusal message).
PASSED = {
    "order": "{action} {quantity:g} {symbol} is an order IB would take",
    "mode": "checked against the settings of the worker's mode ({mode})",
    "kill_switch": "trading is enabled",
    "kill_switch_allowed": "trading is disabled, but this intent may send orders while stopped",
    "soft_stop": "soft stop is off",
    "reduce_only": "the order only reduces the position",
    "allowed_symbols": "{symbol} may be traded",
    "max_order_quantity": "within the maximum order quantity",
    "max_order_notional": "within the maximum order notional",
    "duplicate": "no open order of this run is the same",
    "what_if": "IB's what-if check raised no warning",
}


class OrderRefused(IntentError):
    """The gateway refused an order; the message says which rule and why."""


@dataclass(frozen=True)
class Check:
    """One rule's verdict on an order: `message` is its refusal when not ok."""

    rule: str
    ok: bool
    message: str

    def as_dict(self) -> dict:
        return {"rule": self.rule, "ok": self.ok, "message": self.message}


@dataclass
class Checklist:
    """Where the rules report. Strict (place, modify): the first refusal raises OrderRefused, so the
    order is refused exactly as before. Not strict (preview): every verdict is collected."""

    strict: bool = True
    results: list[Check] = field(default_factory=list)

    def report(self, rule: str, refusal: str, passed: str = "") -> bool:
        if refusal and self.strict:
            raise OrderRefused(refusal)
        self.results.append(Check(rule, not refusal, refusal or passed))
        return not refusal

    @property
    def all_ok(self) -> bool:
        return all(check.ok for check in self.results)


class OrderNotSent(IntentError):
    """The order could not be handed to IB (no connection); its row is `NotSent`, nothing is working."""


@dataclass
class PlacedOrder:
    row_id: int
    trade: object | None  # ib_insync Trade; None in a dry run
    order_ref: str
    dry_run: bool
    symbol: str
    action: str
    quantity: float
    order_type: str = OrderType.MARKET
    limit_price: float | None = None
    parent_row: int | None = None  # a bracket child: its entry's row

    def as_dict(self) -> dict:
        return {
            "order": self.row_id,
            "order_id": self.trade.order.orderId if self.trade else None,
            "order_ref": self.order_ref,
            "symbol": self.symbol,
            "action": self.action,
            "quantity": self.quantity,
            "order_type": self.order_type,
            "limit_price": self.limit_price,
            "parent": self.parent_row,
            "dry_run": self.dry_run,
            "status": self.trade.orderStatus.status if self.trade else OrderStatus.PLANNED,
        }


def order_account(ctx) -> str:
    """The account an order is for: the run's, when the run carries one, else the context's (the
    account the settings name, or the gateway's first managed account)."""
    return getattr(ctx.run, "account", "") or getattr(ctx, "account", "") or ctx.config.account


class OrderGateway:
    def __init__(self, ctx: IntentContext, *, allowed_when_killed: bool):
        self.ctx = ctx
        self.allowed_when_killed = allowed_when_killed
        self.placed: list[PlacedOrder] = []

    async def fresh_config(self) -> EffectiveConfig:
        """The settings in force now for this worker's mode and the order's account (its row's switches
        add to the others, its limits tighten them), read in one query; kept on the context as well."""
        ctx = self.ctx
        ctx.config = await ctx.db(effective_config, ctx.mode, account=order_account(ctx) or None)
        return ctx.config

    async def place(
        self,
        *,
        contract,
        action: str,
        quantity: float,
        order_type: str = "",
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail_amount: float | None = None,
        trail_percent: float | None = None,
        tif: str = "",
        outside_rth: bool = False,
        take_profit: float | None = None,
        stop_loss: float | None = None,
        owner: str = "",
        reduce_only: bool = False,
        closing: bool = False,
    ) -> PlacedOrder:
        """Check, record and send one order; the entry of a bracket when `take_profit` and `stop_loss` are
        given (all three orders are in `self.placed`). `closing` marks an order that flattens a position
        (close_all, eod_check): it is reduce-only and exempt from the quantity, notional and symbol limits.
        Type and tif default to the settings'; a LMT order without a limit price is priced from the quote
        (midpoint ± `limit_offset_bps`), and refused when there is no quote."""
        ctx = self.ctx
        action = _action_sane(action, quantity)
        config = await self.fresh_config()
        owner = owner or ctx.run.intent
        spec = _spec(
            config, action=action, quantity=quantity, order_type=order_type, limit_price=limit_price,
            stop_price=stop_price, trail_amount=trail_amount, trail_percent=trail_percent, tif=tif,
            outside_rth=outside_rth, take_profit=take_profit, stop_loss=stop_loss,
        )  # fmt: skip
        order = self._stamp(Order(action=action, totalQuantity=quantity, orderType=spec.order_type, tif=spec.tif), owner)
        try:
            order, children = await self._build(config, contract, spec, owner)
            reduce_only = reduce_only or closing
            exempt = await self._check(config, contract, order, reduce_only=reduce_only, closing=closing, bracket=bool(children))
            for child in children:  # the exits are held to the limits at their own prices
                await self._check_limits(config, contract, child, increases=False, closing=False)
        except OrderRefused as refusal:
            await ctx.db(order_record, ctx, contract, order, owner, OrderStatus.REFUSED, str(refusal))
            raise
        if ctx.dry_run:
            placed = await self._plan(contract, [order, *children], owner, exempt)
        else:
            placed = await self._send(contract, [order, *children], owner, exempt)
        self.placed.extend(placed)
        return placed[0]

    async def place_closing(self, closes: list[tuple], *, order_type: str = "MKT") -> tuple[list[PlacedOrder], list[str]]:
        """Close several positions at once (close_all, eod_check): `closes` is [(contract, signed
        position to close, owner)]. Each order is checked exactly as `place` checks a closing order
        (mode, reduce-only, duplicate; the limits only recorded as exemptions, from the price at hand),
        then every row and its activity entry is written in ONE transaction, then all orders go out at
        IB's pace (ib_insync's throttle) with no database wait between them. The settings are read once:
        closing orders pass the kill switch, so a switch flipped mid-batch changes nothing for them.

        Returns the placed orders and a line for each close refused or not sent (the others still go)."""
        ctx = self.ctx
        config = await self.fresh_config()
        ready, refused, failures = [], [], []
        batch, later, seen = [], [], set()
        for close in closes:  # a second close of one contract must count the first as working: after
            (later if close[0].conId in seen else batch).append(close)
            seen.add(close[0].conId)
        for contract, quantity, owner in batch:
            owner = owner or ctx.run.intent
            action = "SELL" if quantity > 0 else "BUY"
            spec = _spec(config, action=action, quantity=abs(quantity), order_type=order_type, tif="")
            order = self._stamp(Order(action=action, totalQuantity=abs(quantity), orderType=spec.order_type, tif=spec.tif), owner)
            try:
                order, _ = await self._build(config, contract, spec, owner)
                exempt = await self._check(config, contract, order, reduce_only=True, closing=True, bracket=False)
            except OrderRefused as refusal:
                refused.append((contract, order, owner, OrderStatus.REFUSED, str(refusal), ()))
                failures.append(CLOSING_FAILED.format(symbol=contract.symbol, reason=refusal))
                continue
            ready.append((contract, order, owner, exempt))
        status = OrderStatus.PLANNED if ctx.dry_run else OrderStatus.PENDING_SUBMIT
        try:
            if not ctx.dry_run:
                for _, order, _, _ in ready:
                    order.orderId = ctx.ib.client.getReqId()
        except ConnectionError as exc:
            for contract, order, owner, exempt in ready:
                order.orderId = 0
                refused.append((contract, order, owner, OrderStatus.NOT_SENT, _not_sent(contract, order, exc), exempt))
                failures.append(CLOSING_FAILED.format(symbol=contract.symbol, reason=_not_sent(contract, order, exc)))
            ready = []
        rows = await ctx.db(
            order_records_write, ctx, refused + [(contract, order, owner, status, "", exempt) for contract, order, owner, exempt in ready]
        )
        rows = rows[len(refused):]
        placed = []
        for (contract, order, _, _), row_id in zip(ready, rows, strict=True):
            trade = None
            if not ctx.dry_run:
                try:
                    trade = ctx.ib.placeOrder(contract, order)
                except (ConnectionError, OSError) as exc:
                    await ctx.db(order_not_sent, row_id, _not_sent(contract, order, exc))
                    failures.append(CLOSING_FAILED.format(symbol=contract.symbol, reason=_not_sent(contract, order, exc)))
                    continue
            placed.append(_placed(row_id, trade, contract, order, None))
        self.placed.extend(placed)
        for contract, quantity, owner in later:  # what the first close of the contract left, if anything
            before = self.position(contract) + self.working_quantity(contract)
            if before == 0 or before * quantity < 0:
                continue
            quantity = quantity if abs(before) > abs(quantity) else before
            try:
                placed.append(
                    await self.place(
                        contract=contract, action="SELL" if quantity > 0 else "BUY", quantity=abs(quantity),
                        owner=owner, order_type=order_type, closing=True,
                    )
                )  # fmt: skip
            except (OrderRefused, OrderNotSent) as exc:
                failures.append(CLOSING_FAILED.format(symbol=contract.symbol, reason=exc))
        return placed, failures

    async def place_batch(self, items: list[tuple]) -> list[PlacedOrder | IntentError]:
        """Several plain orders at once (the allocator's, one per contract): `items` is [(contract, action,
        quantity, owner)]. Each is checked exactly as `place` checks it; then every row and its activity
        entry is written in ONE transaction; then the orders go out at IB's pace with no commit between
        them. The kill switch and the soft stop still apply to each order: right before an order goes,
        the switches are read again (one query of the settings rows): a kill switch flipped mid-batch
        refuses that order and every order after it, a soft stop each order that does not reduce.

        Returns, per item and in order, its PlacedOrder or the OrderRefused/OrderNotSent that stopped it."""
        ctx = self.ctx
        config = await self.fresh_config()
        outcomes: list[PlacedOrder | IntentError | None] = [None] * len(items)
        ready, refused = [], []
        for index, (contract, action, quantity, owner) in enumerate(items):
            owner = owner or ctx.run.intent
            order = self._stamp(Order(action=str(action).upper(), totalQuantity=quantity), owner)
            try:
                action = _action_sane(action, quantity)
                spec = _spec(config, action=action, quantity=quantity, order_type="", tif="")
                order = self._stamp(Order(action=action, totalQuantity=quantity, orderType=spec.order_type, tif=spec.tif), owner)
                order, _ = await self._build(config, contract, spec, owner)
                exempt = await self._check(config, contract, order, reduce_only=False, closing=False)
            except OrderRefused as refusal:
                refused.append((contract, order, owner, OrderStatus.REFUSED, str(refusal), ()))
                outcomes[index] = refusal
                continue
            ready.append((index, contract, order, owner, exempt))
        status = OrderStatus.PLANNED if ctx.dry_run else OrderStatus.PENDING_SUBMIT
        try:
            if not ctx.dry_run:
                for _, _, order, _, _ in ready:
                    order.orderId = ctx.ib.client.getReqId()
        except ConnectionError as exc:
            for index, contract, order, owner, _ in ready:
                order.orderId = 0
                refused.append((contract, order, owner, OrderStatus.NOT_SENT, _not_sent(contract, order, exc), ()))
                outcomes[index] = OrderNotSent(_not_sent(contract, order, exc))
            ready = []
        rows = await ctx.db(
            order_records_write, ctx, refused + [(c, o, owner, status, "", exempt) for _, c, o, owner, exempt in ready]
        )
        for position, ((index, contract, order, _, _), row_id) in enumerate(zip(ready, rows[len(refused) :], strict=True)):
            if ctx.dry_run:
                outcomes[index] = _placed(row_id, None, contract, order, None)
                continue
            stop = await self._stopped_now(contract, order)
            if stop == KILL_SWITCH:  # nothing after it goes either
                await ctx.db(orders_unsent, rows[len(refused) + position :], stop, OrderStatus.REFUSED)
                for later_index, _, _, _, _ in ready[position:]:
                    outcomes[later_index] = OrderRefused(stop)
                break
            if stop:  # the soft stop refuses what does not reduce; a reducing order after it still goes
                await ctx.db(orders_unsent, [row_id], stop, OrderStatus.REFUSED)
                outcomes[index] = OrderRefused(stop)
                continue
            try:
                trade = ctx.ib.placeOrder(contract, order)
            except (ConnectionError, OSError) as exc:
                await ctx.db(order_not_sent, row_id, _not_sent(contract, order, exc))
                outcomes[index] = OrderNotSent(_not_sent(contract, order, exc))
                continue
            outcomes[index] = _placed(row_id, trade, contract, order, None)
        self.placed.extend(o for o in outcomes if isinstance(o, PlacedOrder))
        return outcomes

    async def _stopped_now(self, contract, order: Order) -> str:
        """Why the switches, read now, stop this order ("" when they do not): the kill switch (unless this
        gateway may send when killed), or the soft stop for an order that does not reduce."""
        config = await self.fresh_config()
        if not config.trading_enabled and not self.allowed_when_killed:
            return KILL_SWITCH
        if config.soft_stop:
            return self._reduces_refusal(
                WHY_SOFT_STOP, contract, order, self.position(contract), self.working_quantity(contract, excluding=None)
            )
        return ""

    async def preview(
        self,
        *,
        contract,
        action: str,
        quantity: float,
        order_type: str = "",
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail_amount: float | None = None,
        trail_percent: float | None = None,
        tif: str = "",
        outside_rth: bool = False,
        take_profit: float | None = None,
        stop_loss: float | None = None,
        owner: str = "",
        reduce_only: bool = False,
    ) -> dict:
        """What `place` would do with this order, without doing it: the orders it would build, every
        check's verdict (the same rules as `place`, all of them, in the same order) and IB's what-if
        for the entry. Nothing is recorded and nothing is sent (a what-if is not an order).

        Returns {"orders": [...], "checks": [...], "would_send": bool, "what_if": {...} | None}."""
        ctx, checks = self.ctx, Checklist(strict=False)
        try:
            action = _action_sane(action, quantity)
        except OrderRefused as refusal:
            checks.report("order", str(refusal))
            return _preview(contract, [], checks, None)
        config = await self.fresh_config()
        owner = owner or ctx.run.intent
        spec = _spec(
            config, action=action, quantity=quantity, order_type=order_type, limit_price=limit_price,
            stop_price=stop_price, trail_amount=trail_amount, trail_percent=trail_percent, tif=tif,
            outside_rth=outside_rth, take_profit=take_profit, stop_loss=stop_loss,
        )  # fmt: skip
        try:
            order, children = await self._build(config, contract, spec, owner)
        except OrderRefused as refusal:
            checks.report("order", str(refusal))
            return _preview(contract, [], checks, None)
        checks.report("order", "", PASSED["order"].format(action=action, quantity=quantity, symbol=contract.symbol))
        await self._check(config, contract, order, reduce_only=reduce_only, closing=False, bracket=bool(children), checks=checks)
        child_checks = Checklist(strict=False)
        for child in children:
            await self._check_limits(config, contract, child, increases=False, closing=False, checks=child_checks)
        checks.results += [check for check in child_checks.results if not check.ok]
        # A bracket's entry waits for its exits (transmit=False); the what-if asks about it on its own.
        state = await self._what_if_state(contract, replace(order, transmit=True))
        if config.what_if_check:
            checks.report("what_if", self._what_if_refusal(contract, order, state), PASSED["what_if"])
        return _preview(contract, [order, *children], checks, state)

    async def _build(self, config, contract, spec: OrderSpec, owner: str) -> tuple[Order, list[Order]]:
        """The entry (priced from the quote when it is a default LMT) and a bracket's exits; OrderRefused
        when the description is not an order IB would take."""
        spec = await self._priced(config, contract, spec)
        problems = spec_problems(spec)
        if problems:
            raise OrderRefused(BAD_ORDER.format(problems="; ".join(f"{field}: {text}" for field, text in problems)))
        order = self._stamp(order_build(spec), owner)
        children = [self._stamp(child, owner) for child in bracket_children(spec, order)] if spec.is_bracket else []
        return order, children

    def _stamp(self, order: Order, owner: str) -> Order:
        order.account = self.ctx.account
        # A preview's run is transient (never saved, no id): its orders are tagged run 0, and never sent.
        order.orderRef = order_ref_build(owner=owner, run_id=self.ctx.run.pk or 0)
        return order

    async def _priced(self, config, contract, spec: OrderSpec) -> OrderSpec:
        """A LMT order without a price gets one from the quote (the settings' default type is LMT)."""
        if spec.order_type != OrderType.LIMIT or spec.limit_price is not None:
            return spec
        quote = await self.ctx.quote(contract)
        try:
            price = limit_from_quote(
                contract, action=spec.action, bid=quote.bid, ask=quote.ask, offset_bps=config.limit_offset_bps
            )
        except ValueError as exc:
            raise OrderRefused(str(exc)) from None
        return replace(spec, limit_price=price)

    async def _plan(self, contract, orders: list[Order], owner: str, exempt: list[str]) -> list[PlacedOrder]:
        placed: list[PlacedOrder] = []
        for order in orders:
            parent_row = placed[0].row_id if placed else None
            row_id = await self.ctx.db(
                order_record, self.ctx, contract, order, owner, OrderStatus.PLANNED, "", exempt if not placed else (), parent_row
            )
            placed.append(_placed(row_id, None, contract, order, parent_row))
        return placed

    async def _send(self, contract, orders: list[Order], owner: str, exempt: list[str]) -> list[PlacedOrder]:
        """Ids first, then every row, then the orders to IB in order (a bracket's last one transmits all)."""
        ctx = self.ctx
        parent = orders[0]
        try:
            for order in orders:
                order.orderId = ctx.ib.client.getReqId()  # known before sending, so the row is written first
        except ConnectionError as exc:
            parent.orderId = 0
            await ctx.db(
                order_record, ctx, contract, parent, owner, OrderStatus.NOT_SENT, _not_sent(contract, parent, exc), exempt
            )
            raise OrderNotSent(_not_sent(contract, parent, exc)) from None
        bracket_link(parent, orders[1:])
        rows: list[int] = []
        for order in orders:
            rows.append(
                await ctx.db(
                    order_record, ctx, contract, order, owner, OrderStatus.PENDING_SUBMIT, "",
                    exempt if not rows else (), rows[0] if rows else None,
                )
            )  # fmt: skip
        trades = []
        for order in orders:
            try:
                trades.append(ctx.ib.placeOrder(contract, order))
            except (ConnectionError, OSError) as exc:
                # ib_insync raises before it writes a byte (client.send checks the socket first): IB has
                # nothing working (a bracket's earlier orders went with transmit=False), so no row may
                # pretend something is.
                for row_id in rows:
                    await ctx.db(order_not_sent, row_id, _not_sent(contract, order, exc))
                raise OrderNotSent(_not_sent(contract, order, exc)) from None
        return [
            _placed(row_id, trade, contract, order, rows[0] if index else None)
            for index, (row_id, trade, order) in enumerate(zip(rows, trades, orders, strict=True))
        ]

    async def modify(
        self, *, row_id: int, quantity: float | None = None, limit_price: float | None = None, stop_price: float | None = None
    ) -> dict:
        """Re-place a working order of this console with a new quantity, limit or stop price (IB's way: the
        same orderId sent again), after the checks a new order gets: the order as it would be is checked
        with this order's own remaining quantity left out of the working orders. Waits for IB's answer."""
        ctx = self.ctx
        row = await ctx.db(_row_get, row_id)
        trade = self._working_trade(row, row_id)
        order = _modified(row_id, trade, self._bracket_member(trade), quantity, limit_price, stop_price)
        config = await self.fresh_config()
        remaining = replace(order, totalQuantity=float(order.totalQuantity) - float(trade.filled()))
        try:
            await self._check(config, trade.contract, remaining, reduce_only=False, closing=False, replacing=trade)
        except OrderRefused as refusal:
            await ctx.db(modify_record, ctx, row, order, reason=str(refusal))
            raise
        await ctx.db(modify_record, ctx, row, order)
        result = {"order": row_id, "order_id": order.orderId, "quantity": float(order.totalQuantity),
                  "limit_price": _set(order.lmtPrice), "stop_price": _set(order.auxPrice), "dry_run": ctx.dry_run}  # fmt: skip
        if ctx.dry_run:
            return {**result, "status": OrderStatus.PLANNED}
        mark = len(trade.log)
        ctx.ib.placeOrder(trade.contract, order)
        await self._modify_confirmed(trade, order, mark)
        return {**result, "status": trade.orderStatus.status}

    def _working_trade(self, row, row_id: int):
        ctx = self.ctx
        ib = ctx.ib
        # only a row of this connection: another gateway's order id names another order here, or none
        mine = row is not None and (row.mode, row.connection, row.client_id) == (ctx.mode, ctx.connection, ib.client.clientId)
        if not mine or not row.order_id:
            raise IntentError(NOT_WORKING.format(order=row_id))
        for trade in ib.openTrades():
            if trade.order.orderId == row.order_id and trade.order.clientId == row.client_id:
                return trade
        raise IntentError(NOT_WORKING.format(order=row_id))

    def _bracket_member(self, trade) -> bool:
        order_id = trade.order.orderId
        return bool(trade.order.parentId) or any(t.order.parentId == order_id for t in self.ctx.ib.openTrades())

    async def _modify_confirmed(self, trade, wanted: Order, mark: int) -> None:
        """Wait on IB's own events (no fixed sleep) until it echoes the new values or refuses."""
        ib, answered = self.ctx.ib, asyncio.Event()

        def look(*_args) -> None:
            if _same_terms(trade.order, wanted) or trade.isDone() or any(e.errorCode for e in trade.log[mark:]):
                answered.set()

        events = (ib.openOrderEvent, ib.orderStatusEvent, ib.errorEvent)
        for event in events:
            event += look
        try:
            look()
            await asyncio.wait_for(answered.wait(), MODIFY_WAIT)
        except TimeoutError:
            raise IntentError(MODIFY_UNCONFIRMED.format(order_id=wanted.orderId, seconds=MODIFY_WAIT)) from None
        finally:
            for event in events:
                event -= look
        errors = [f"{e.errorCode}: {e.message}" for e in trade.log[mark:] if e.errorCode]
        if errors:
            raise IntentError(MODIFY_REJECTED.format(order_id=wanted.orderId, error=errors[-1]))

    async def _check(
        self,
        config,
        contract,
        order: Order,
        *,
        reduce_only: bool,
        closing: bool,
        bracket: bool = False,
        replacing=None,
        checks: Checklist | None = None,
    ) -> list[str]:
        """Report each rule's verdict to `checks` (strict by default: raise OrderRefused naming the first
        rule the order breaks); return the limits it was exempt from. `replacing`: the working trade a
        modify re-places (its own remaining quantity is not counted). A collecting checklist (a preview)
        skips the what-if: the preview asks IB itself, whatever the run's dry-run flag."""
        ctx, checks = self.ctx, checks or Checklist()
        mismatch = ctx.worker is not None and ctx.worker.mode != config.mode
        checks.report(
            "mode", MODE_MISMATCH.format(worker=ctx.worker.mode, active=config.mode) if mismatch else "",
            PASSED["mode"].format(mode=config.mode),
        )  # fmt: skip
        killed = not config.trading_enabled
        checks.report(
            "kill_switch", KILL_SWITCH if killed and not self.allowed_when_killed else "",
            PASSED["kill_switch_allowed" if killed else "kill_switch"],
        )  # fmt: skip
        why = (
            WHY_SOFT_STOP if config.soft_stop else WHY_KILLED if killed and self.allowed_when_killed
            else WHY_REDUCE_ONLY if reduce_only else None
        )  # fmt: skip
        rule = "soft_stop" if config.soft_stop else "reduce_only" if why is not None else "soft_stop"
        position = self.position(contract)
        working = self.working_quantity(contract, excluding=replacing)
        if why is not None and bracket:
            checks.report(rule, BRACKET_REDUCE_ONLY.format(why=why))
        elif why is not None:
            checks.report(rule, self._reduces_refusal(why, contract, order, position, working), PASSED["reduce_only"])
        else:
            checks.report(rule, "", PASSED["soft_stop"])
        before = position + working
        after = before + _signed(order)
        exempt = await self._check_limits(
            config, contract, order, increases=abs(after) > abs(before), closing=closing, checks=checks
        )
        checks.report("duplicate", self._duplicate_refusal(contract, order, excluding=replacing), PASSED["duplicate"])
        if config.what_if_check and closing:
            exempt.append("what_if_check")  # a margin warning must not keep a position open either
        elif config.what_if_check and not ctx.dry_run and checks.strict:
            state = await self._what_if_state(contract, order)
            checks.report("what_if", self._what_if_refusal(contract, order, state))
        return exempt

    def _reduces_refusal(self, why: str, contract, order: Order, position: float, working: float) -> str:
        """0 ≤ after/before ≤ 1: toward zero, never past it, counting this worker's working orders."""
        before = position + working
        after = before + _signed(order)
        if before != 0 and after * before >= 0 and abs(after) <= abs(before):
            return ""
        return (
            REDUCE_ONLY.format(
                why=why, action=order.action, quantity=float(order.totalQuantity), symbol=contract.symbol,
                before=position, after=position + working + _signed(order),
                working=WORKING.format(quantity=working) if working else "",
            )
        )  # fmt: skip

    async def _check_limits(
        self, config, contract, order: Order, *, increases: bool, closing: bool, checks: Checklist | None = None
    ) -> list[str]:
        """Quantity, notional and symbol limits. A closing order is never blocked by them (it reduces
        risk); the limits it would have broken are returned and recorded as its exemptions. A preview
        reports a missing price for the notional limit as that limit's refusal instead of raising."""
        checks = checks or Checklist()
        symbol, quantity = contract.symbol, float(order.totalQuantity)
        verdicts: list[tuple[str, str]] = [("allowed_symbols", ""), ("max_order_quantity", ""), ("max_order_notional", "")]
        if not config.symbol_allowed(_symbol_key(contract)) and (increases or closing):
            allowed = ", ".join(config.allowed_symbols)
            verdicts[0] = ("allowed_symbols", NOT_ALLOWED.format(symbol=_symbol_key(contract), allowed=allowed))
        if config.max_order_quantity is not None and quantity > config.max_order_quantity and contract.secType != "CASH":
            limit = config.max_order_quantity
            verdicts[1] = ("max_order_quantity", MAX_QUANTITY.format(quantity=quantity, symbol=symbol, limit=limit))
        if config.max_order_notional is not None:
            best_effort = closing or not checks.strict
            verdicts[2] = (
                "max_order_notional", await self._notional_over(config, contract, order, best_effort=best_effort, closing=closing)
            )
        if closing:
            return [name for name, refusal in verdicts if refusal]
        for name, refusal in verdicts:  # strict: the first broken limit raises, as it always has
            checks.report(name, refusal, PASSED[name].format(symbol=_symbol_key(contract)))
        return []

    async def _notional_over(self, config, contract, order: Order, *, best_effort: bool, closing: bool = False) -> str:
        quantity = float(order.totalQuantity)
        if closing:
            # A closing order is exempt whatever its value: the price only says what it was exempt
            # from, so it is the one at hand (IB's portfolio mark, a live ticker), never a request.
            price = _order_price(order) or self._price_at_hand(contract)
            if price is None:
                return ""
        else:
            try:
                price = _order_price(order) or await self.ctx.price(contract)
            except IntentError as exc:
                if best_effort:  # a preview reports a missing price as this limit's refusal
                    return str(exc)
                raise
        notional = base_notional(contract, price, quantity)
        if notional > config.max_order_notional:
            return MAX_NOTIONAL.format(
                quantity=quantity, symbol=contract.symbol, price=price, notional=notional, limit=config.max_order_notional
            )
        return ""

    def working_quantity(self, contract, *, excluding=None) -> float:
        """Signed quantity this worker's own working orders for the contract will still trade.

        A bracket's exits count only once their entry has filled (until then they trade nothing), and
        orders of one OCA group count once (only one of them can fill): counted naively, a bracket's two
        exits would make an open position look like one on the other side."""
        ib = self.ctx.ib
        own = [
            trade for trade in ib.openTrades()
            if trade.contract.conId == contract.conId and trade.order.clientId == ib.client.clientId
            and not (self.ctx.account and trade.order.account and trade.order.account != self.ctx.account)
            and trade is not excluding
        ]  # fmt: skip
        working_ids = {trade.order.orderId for trade in own}
        total, groups = 0.0, {}
        for trade in own:
            if trade.order.parentId and trade.order.parentId in working_ids:
                continue
            remaining = float(trade.order.totalQuantity) - float(trade.filled())
            if remaining <= 0:
                continue
            signed = remaining if trade.order.action == "BUY" else -remaining
            if trade.order.ocaGroup:
                groups[trade.order.ocaGroup] = max(groups.get(trade.order.ocaGroup, 0.0), signed, key=abs)
            else:
                total += signed
        return total + sum(groups.values())

    def _price_at_hand(self, contract) -> float | None:
        """The contract's price the worker already has: IB's portfolio mark, else a live ticker's."""
        ib = self.ctx.ib
        for item in ib.portfolio(self.ctx.account) if self.ctx.account else ib.portfolio():
            if item.contract.conId == contract.conId and item.marketPrice and item.marketPrice > 0:
                return float(item.marketPrice)
        ticker = ib.ticker(contract)
        price = ticker.marketPrice() if ticker is not None else None
        return float(price) if price is not None and price == price and price > 0 else None

    def position(self, contract) -> float:
        account = self.ctx.account
        for position in self.ctx.ib.positions(account) if account else self.ctx.ib.positions():
            if position.contract.conId == contract.conId:
                return float(position.position)
        return 0.0

    def _duplicate_refusal(self, contract, order: Order, *, excluding=None) -> str:
        for trade in self.ctx.ib.openTrades():
            if (
                trade is not excluding
                and trade.order.orderRef == order.orderRef
                and trade.contract.conId == contract.conId
                and trade.order.action == order.action
                and float(trade.order.totalQuantity) == float(order.totalQuantity)
            ):
                return DUPLICATE.format(
                    run=self.ctx.run.pk, action=order.action, quantity=order.totalQuantity,
                    symbol=contract.symbol, order_id=trade.order.orderId,
                )  # fmt: skip
        return ""

    async def _what_if_state(self, contract, order: Order):
        """IB's what-if answer (an OrderState) for the order."""
        return await self.ctx.ib.whatIfOrderAsync(contract, order)

    @staticmethod
    def _what_if_refusal(contract, order: Order, state) -> str:
        reason = "no answer" if not state else state.warningText
        if not reason:
            return ""
        return WHAT_IF.format(action=order.action, quantity=order.totalQuantity, symbol=contract.symbol, reason=reason)

    async def cancel(self, trade) -> None:
        """Cancels always pass (they only reduce risk); recorded by the worker from IB's answer."""
        self.ctx.ib.cancelOrder(trade.order)


def base_notional(contract, price: float, quantity: float) -> Decimal:
    """An order's value in the account's base currency (USD), which the notional limit is written in.

    FX pairs are quoted IB's way: USD.JPY's quantity is already USD; EUR.USD's value is quantity × price.
    Other cross pairs are valued in their quote currency (an approximation noted in the docs).
    """
    quantity_d, price_d = Decimal(str(quantity)), Decimal(str(price))
    if contract.secType == "CASH" and contract.symbol == "USD":
        return quantity_d
    return quantity_d * price_d


def _action_sane(action: str, quantity: float) -> str:
    action = action.upper()
    if action not in ("BUY", "SELL"):
        raise OrderRefused(BAD_ACTION.format(action=action))
    if not quantity or quantity <= 0:
        raise OrderRefused(BAD_QUANTITY.format(quantity=quantity))
    return action


def _spec(config, *, order_type: str, tif: str, **terms) -> OrderSpec:
    """The order as described, with the settings' type and time in force where none was given."""
    return OrderSpec(order_type=order_type or config.default_order_type, tif=tif or config.default_tif, **terms)


_ROLES = ("parent", "take_profit", "stop_loss")


def _preview(contract, orders: list[Order], checks: Checklist, state) -> dict:
    return {
        "orders": [
            {"action": order.action, "quantity": float(order.totalQuantity), "order_type": order.orderType,
             "lmt_price": _set(order.lmtPrice), "aux_price": _set(order.auxPrice), "tif": order.tif, "role": role}
            for order, role in zip(orders, _ROLES, strict=False)
        ],
        "checks": [check.as_dict() for check in checks.results],
        "would_send": bool(orders) and checks.all_ok,
        "what_if": _what_if_dict(state),
    }  # fmt: skip


def _what_if_dict(state) -> dict | None:
    """IB's what-if answer as numbers (IB sends strings, and its 'unset' max float for a missing one)."""
    if not state:
        return None
    names = {"init_margin_change": "initMarginChange", "maint_margin_change": "maintMarginChange",
             "equity_with_loan_change": "equityWithLoanChange", "commission": "commission",
             "min_commission": "minCommission", "max_commission": "maxCommission"}  # fmt: skip
    return {**{ours: _number(getattr(state, theirs, None)) for ours, theirs in names.items()}, "warning": state.warningText or ""}


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) or abs(number) >= UNSET_DOUBLE else number


def _signed(order: Order) -> float:
    quantity = float(order.totalQuantity)
    return quantity if order.action == "BUY" else -quantity


def _not_sent(contract, order: Order, exc: BaseException) -> str:
    error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return NOT_SENT.format(
        action=order.action, quantity=float(order.totalQuantity), symbol=contract.symbol, order_id=order.orderId, error=error
    )


def _symbol_key(contract) -> str:
    if contract.secType == "CASH":
        return f"{contract.symbol}.{contract.currency}"
    return contract.symbol


def _set(value) -> float | None:
    return None if value is None or value == UNSET_DOUBLE else float(value)


def _order_price(order: Order) -> float | None:
    """The price an order names for valuing it (its limit, a stop's stop); None: the market's."""
    if _set(order.lmtPrice) is not None:
        return float(order.lmtPrice)
    if order.orderType == OrderType.STOP:
        return _set(order.auxPrice)
    return None


def _placed(row_id: int, trade, contract, order: Order, parent_row: int | None) -> PlacedOrder:
    return PlacedOrder(
        row_id, trade, order.orderRef, trade is None, contract.symbol, order.action, float(order.totalQuantity),
        order.orderType, _set(order.lmtPrice), parent_row,
    )  # fmt: skip


def _row_get(row_id: int):
    return OrderRow.objects.filter(pk=row_id).first()


def _modified(row_id, trade, bracket_member: bool, quantity, limit_price, stop_price) -> Order:
    """A copy of the working order with the new terms (IB's modify: same ids, everything else as placed)."""
    order, kind = replace(trade.order), trade.order.orderType
    if quantity is None and limit_price is None and stop_price is None:
        raise IntentError(MODIFY_NOTHING)
    if limit_price is not None:
        if _set(order.lmtPrice) is None:
            raise IntentError(MODIFY_FIELD.format(field="limit_price", order=row_id, order_type=kind))
        order.lmtPrice = limit_price
    if stop_price is not None:
        if kind not in (OrderType.STOP, OrderType.STOP_LIMIT):
            raise IntentError(MODIFY_FIELD.format(field="stop_price", order=row_id, order_type=kind))
        order.auxPrice = stop_price
    if quantity is not None and quantity != float(trade.order.totalQuantity):
        if bracket_member:
            raise IntentError(MODIFY_BRACKET.format(order=row_id))
        if quantity <= float(trade.filled()):
            raise IntentError(MODIFY_FILLED.format(order=row_id, filled=float(trade.filled())))
        order.totalQuantity = quantity
    order.transmit = True
    return order


def _same_terms(current: Order, wanted: Order) -> bool:
    return all(_close(getattr(current, name), getattr(wanted, name)) for name in ("totalQuantity", "lmtPrice", "auxPrice"))


def _close(a, b) -> bool:
    return a == b or (a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9))
