"""The one order gateway: every order any intent sends goes through `OrderGateway.place`.

In order, for each order: quantity sane → settings read now (never cached) → the worker trades the
active mode → kill switch (only close_all, eod_check and cancels pass) → reduce-only → risk limits
(max quantity, max notional, allowed symbols; closing orders are exempt, and the exemption is
recorded) → the same run has not placed this order already → optional IB what-if margin check (not
for closing orders) → tagged with orderRef, recorded with its activity entry → sent (or, in a dry
run, recorded as planned and not sent). A refusal is recorded too, then raised.

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

from dataclasses import dataclass
from decimal import Decimal

from ib_insync import LimitOrder, MarketOrder, Order

from trading.activity import activity_record
from trading.intents.context import IntentContext, IntentError
from trading.models import ActivityKind, OrderStatus
from trading.models import Order as OrderRow
from trading.models.activity import Severity
from trading.orderref import order_ref_build
from trading.worker.snapshots import contract_fields

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
MODE_MISMATCH = "the worker trades {worker} but the active mode is {active}: switch the mode or the gateway"
MAX_QUANTITY = "{quantity} {symbol} exceeds the maximum order quantity {limit}"
MAX_NOTIONAL = "{quantity} {symbol} at ~{price:.2f} is {notional:.0f}, over the maximum order notional {limit}"
NOT_ALLOWED = "{symbol} is not in the allowed symbols ({allowed})"
DUPLICATE = "run #{run} already has an open {action} {quantity} {symbol} order (order {order_id})"
BAD_QUANTITY = "order quantity must be positive, got {quantity}"
BAD_ACTION = "order action must be BUY or SELL, got {action!r}"
WHAT_IF = "IB's what-if check refused {action} {quantity} {symbol}: {reason}"


class OrderRefused(IntentError):
    """The gateway refused an order; the message says which rule and why."""


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

    def as_dict(self) -> dict:
        return {
            "order": self.row_id,
            "order_id": self.trade.order.orderId if self.trade else None,
            "order_ref": self.order_ref,
            "symbol": self.symbol,
            "action": self.action,
            "quantity": self.quantity,
            "dry_run": self.dry_run,
            "status": self.trade.orderStatus.status if self.trade else OrderStatus.PLANNED,
        }


class OrderGateway:
    def __init__(self, ctx: IntentContext, *, allowed_when_killed: bool):
        self.ctx = ctx
        self.allowed_when_killed = allowed_when_killed
        self.placed: list[PlacedOrder] = []

    async def place(
        self,
        *,
        contract,
        action: str,
        quantity: float,
        order_type: str = "",
        limit_price: float | None = None,
        owner: str = "",
        tif: str = "",
        reduce_only: bool = False,
        closing: bool = False,
    ) -> PlacedOrder:
        """Check, record and send one order. `closing` marks an order that flattens a position (close_all,
        eod_check): it is reduce-only and exempt from the quantity, notional and symbol limits."""
        ctx = self.ctx
        action = action.upper()
        if action not in ("BUY", "SELL"):
            raise OrderRefused(BAD_ACTION.format(action=action))
        if not quantity or quantity <= 0:
            raise OrderRefused(BAD_QUANTITY.format(quantity=quantity))
        config = await ctx.fresh_config()
        order_type = order_type or config.default_order_type
        order = LimitOrder(action, quantity, limit_price) if order_type == "LMT" else MarketOrder(action, quantity)
        order.tif = tif or config.default_tif
        order.account = ctx.account
        owner = owner or ctx.run.intent
        order.orderRef = order_ref_build(owner=owner, run_id=ctx.run.pk)
        try:
            exempt = await self._check(config, contract, order, reduce_only=reduce_only or closing, closing=closing)
        except OrderRefused as refusal:
            await ctx.db(_record, ctx, contract, order, owner, OrderStatus.REFUSED, str(refusal))
            raise
        if ctx.dry_run:
            row_id = await ctx.db(_record, ctx, contract, order, owner, OrderStatus.PLANNED, "", exempt)
            placed = PlacedOrder(row_id, None, order.orderRef, True, contract.symbol, action, quantity)
        else:
            placed = await self._send(contract, order, owner, exempt)
        self.placed.append(placed)
        return placed

    async def _send(self, contract, order: Order, owner: str, exempt: list[str]) -> PlacedOrder:
        ctx = self.ctx
        try:
            order.orderId = ctx.ib.client.getReqId()  # known before sending, so the row is written first
        except ConnectionError as exc:
            await ctx.db(_record, ctx, contract, order, owner, OrderStatus.NOT_SENT, _not_sent(contract, order, exc), exempt)
            raise OrderNotSent(_not_sent(contract, order, exc)) from None
        row_id = await ctx.db(_record, ctx, contract, order, owner, OrderStatus.PENDING_SUBMIT, "", exempt)
        try:
            trade = ctx.ib.placeOrder(contract, order)
        except (ConnectionError, OSError) as exc:
            # ib_insync raises before it writes a byte (client.send checks the socket first): IB has
            # nothing, so the row must not pretend something is working.
            await ctx.db(order_not_sent, row_id, _not_sent(contract, order, exc))
            raise OrderNotSent(_not_sent(contract, order, exc)) from None
        return PlacedOrder(row_id, trade, order.orderRef, False, contract.symbol, order.action, order.totalQuantity)

    async def _check(self, config, contract, order: Order, *, reduce_only: bool, closing: bool) -> list[str]:
        """Raise OrderRefused naming the first rule the order breaks; return the limits it was exempt from."""
        ctx = self.ctx
        if ctx.worker is not None and ctx.worker.mode != config.mode:
            raise OrderRefused(MODE_MISMATCH.format(worker=ctx.worker.mode, active=config.mode))
        if not config.trading_enabled and not self.allowed_when_killed:
            raise OrderRefused(KILL_SWITCH)
        why = (
            WHY_SOFT_STOP if config.soft_stop else WHY_KILLED if not config.trading_enabled
            else WHY_REDUCE_ONLY if reduce_only else None
        )  # fmt: skip
        position = self.position(contract)
        working = self.working_quantity(contract)
        if why is not None:
            self._check_reduces(why, contract, order, position, working)
        before = position + working
        after = before + _signed(order)
        exempt = await self._check_limits(config, contract, order, increases=abs(after) > abs(before), closing=closing)
        self._check_duplicate(contract, order)
        if config.what_if_check and closing:
            exempt.append("what_if_check")  # a margin warning must not keep a position open either
        elif config.what_if_check and not ctx.dry_run:
            await self._what_if(contract, order)
        return exempt

    def _check_reduces(self, why: str, contract, order: Order, position: float, working: float) -> None:
        """0 ≤ after/before ≤ 1: toward zero, never past it, counting this worker's working orders."""
        before = position + working
        after = before + _signed(order)
        if before != 0 and after * before >= 0 and abs(after) <= abs(before):
            return
        raise OrderRefused(
            REDUCE_ONLY.format(
                why=why, action=order.action, quantity=float(order.totalQuantity), symbol=contract.symbol,
                before=position, after=position + working + _signed(order),
                working=WORKING.format(quantity=working) if working else "",
            )
        )  # fmt: skip

    async def _check_limits(self, config, contract, order: Order, *, increases: bool, closing: bool) -> list[str]:
        """Quantity, notional and symbol limits. A closing order is never blocked by them (it reduces
        risk); the limits it would have broken are returned and recorded as its exemptions."""
        symbol, quantity = contract.symbol, float(order.totalQuantity)
        broken: list[tuple[str, str]] = []
        if not config.symbol_allowed(_symbol_key(contract)) and (increases or closing):
            broken.append(
                ("allowed_symbols", NOT_ALLOWED.format(symbol=_symbol_key(contract), allowed=", ".join(config.allowed_symbols)))
            )
        if config.max_order_quantity is not None and quantity > config.max_order_quantity and contract.secType != "CASH":
            broken.append(
                ("max_order_quantity", MAX_QUANTITY.format(quantity=quantity, symbol=symbol, limit=config.max_order_quantity))
            )
        if config.max_order_notional is not None:
            reason = await self._notional_over(config, contract, order, best_effort=closing)
            if reason:
                broken.append(("max_order_notional", reason))
        if broken and not closing:
            raise OrderRefused(broken[0][1])
        return [name for name, _ in broken]

    async def _notional_over(self, config, contract, order: Order, *, best_effort: bool) -> str:
        quantity = float(order.totalQuantity)
        try:
            price = order.lmtPrice if order.orderType == "LMT" else await self.ctx.price(contract)
        except IntentError as exc:
            if best_effort:  # a closing order is sent anyway: no price cannot block a flatten
                return str(exc)
            raise
        notional = base_notional(contract, price, quantity)
        if notional > config.max_order_notional:
            return MAX_NOTIONAL.format(
                quantity=quantity, symbol=contract.symbol, price=price, notional=notional, limit=config.max_order_notional
            )
        return ""

    def working_quantity(self, contract) -> float:
        """Signed quantity this worker's own working orders for the contract will still trade."""
        ib = self.ctx.ib
        total = 0.0
        for trade in ib.openTrades():
            if trade.contract.conId != contract.conId or trade.order.clientId != ib.client.clientId:
                continue
            if self.ctx.account and trade.order.account and trade.order.account != self.ctx.account:
                continue
            remaining = float(trade.order.totalQuantity) - float(trade.filled())
            if remaining > 0:
                total += remaining if trade.order.action == "BUY" else -remaining
        return total

    def position(self, contract) -> float:
        account = self.ctx.account
        for position in self.ctx.ib.positions(account) if account else self.ctx.ib.positions():
            if position.contract.conId == contract.conId:
                return float(position.position)
        return 0.0

    def _check_duplicate(self, contract, order: Order) -> None:
        for trade in self.ctx.ib.openTrades():
            if (
                trade.order.orderRef == order.orderRef
                and trade.contract.conId == contract.conId
                and trade.order.action == order.action
                and float(trade.order.totalQuantity) == float(order.totalQuantity)
            ):
                raise OrderRefused(
                    DUPLICATE.format(
                        run=self.ctx.run.pk, action=order.action, quantity=order.totalQuantity,
                        symbol=contract.symbol, order_id=trade.order.orderId,
                    )
                )  # fmt: skip

    async def _what_if(self, contract, order: Order) -> None:
        state = await self.ctx.ib.whatIfOrderAsync(contract, order)
        if not state:
            raise OrderRefused(
                WHAT_IF.format(action=order.action, quantity=order.totalQuantity, symbol=contract.symbol, reason="no answer")
            )
        if state.warningText:
            raise OrderRefused(
                WHAT_IF.format(
                    action=order.action, quantity=order.totalQuantity, symbol=contract.symbol, reason=state.warningText
                )
            )

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


def _signed(order: Order) -> float:
    quantity = float(order.totalQuantity)
    return quantity if order.action == "BUY" else -quantity


def _not_sent(contract, order: Order, exc: BaseException) -> str:
    error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return NOT_SENT.format(
        action=order.action, quantity=float(order.totalQuantity), symbol=contract.symbol, order_id=order.orderId, error=error
    )


def order_not_sent(row_id: int, reason: str) -> None:
    """The row of an order IB never received: final `NotSent`, no IB id (IB may hand it out again)."""
    updated = OrderRow.objects.filter(pk=row_id, status=OrderStatus.PENDING_SUBMIT).update(
        status=OrderStatus.NOT_SENT, order_id=0, remaining=0, last_error=reason
    )
    if not updated:
        return
    row = OrderRow.objects.select_related("run").get(pk=row_id)
    activity_record(
        kind=ActivityKind.ORDER_REFUSED, severity=Severity.ERROR, message=f"not sent: {reason}", mode=row.mode,
        strategy=row.strategy, run=row.run, payload={"order": row.pk, "order_ref": row.order_ref, "reason": reason},
    )  # fmt: skip


def _symbol_key(contract) -> str:
    if contract.secType == "CASH":
        return f"{contract.symbol}.{contract.currency}"
    return contract.symbol


def _record(ctx: IntentContext, contract, order: Order, owner: str, status: str, reason: str, exempt=()) -> int:
    """The order row and its activity entry, written before anything is sent."""
    fields = contract_fields(contract)
    refused = status in (OrderStatus.REFUSED, OrderStatus.NOT_SENT)
    row = OrderRow.objects.create(
        mode=ctx.mode,
        account=order.account or "",
        client_id=ctx.ib.client.clientId if status == OrderStatus.PENDING_SUBMIT else 0,
        order_id=order.orderId if status == OrderStatus.PENDING_SUBMIT else 0,
        order_ref=order.orderRef,
        run=ctx.run,
        strategy=owner,
        action=order.action,
        total_quantity=Decimal(str(order.totalQuantity)),
        order_type=order.orderType,
        lmt_price=Decimal(str(order.lmtPrice)) if order.orderType == "LMT" else None,
        tif=order.tif,
        status=status,
        remaining=Decimal(str(order.totalQuantity)) if not refused else 0,
        last_error=reason,
        dry_run=status == OrderStatus.PLANNED,
        **fields,
    )
    verbs = {
        OrderStatus.REFUSED: "refused", OrderStatus.PLANNED: "planned (dry run)", OrderStatus.PENDING_SUBMIT: "sending",
        OrderStatus.NOT_SENT: "not sent",
    }  # fmt: skip
    text = f"{verbs[status]}: {order.action} {order.totalQuantity:g} {fields['symbol']} {order.orderType}"
    if exempt:
        text += f" (closing order: exempt from {', '.join(exempt)})"
    payload = {"order": row.pk, "order_ref": order.orderRef, "reason": reason}
    if exempt:
        payload["exempt"] = list(exempt)
    activity_record(
        kind=ActivityKind.ORDER_REFUSED if refused else ActivityKind.ORDER,
        severity=Severity.WARNING if refused else Severity.INFO,
        message=text + (f" — {reason}" if reason else ""),
        mode=ctx.mode,
        strategy=owner,
        run=ctx.run,
        payload=payload,
    )
    return row.pk
