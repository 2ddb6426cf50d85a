"""The one order gateway: every order any intent sends goes through `OrderGateway.place`.

In order, for each order: quantity sane → settings read now (never cached) → the worker trades the
active mode → kill switch (only close_all and cancels pass) → soft stop (reduce-only) → risk limits
(max quantity, max notional, allowed symbols) → the same run has not placed this order already →
optional IB what-if margin check → tagged with orderRef, recorded with its activity entry → sent
(or, in a dry run, recorded as planned and not sent). A refusal is recorded too, then raised.
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

KILL_SWITCH = "trading is disabled (kill switch): only close_all and cancels may send orders"
SOFT_STOP = "soft stop is on: {action} {quantity} {symbol} would increase the position from {before} to {after}"
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
    ) -> PlacedOrder:
        ctx = self.ctx
        action = action.upper()
        if action not in ("BUY", "SELL"):
            raise OrderRefused(BAD_ACTION.format(action=action))
        if not quantity or quantity <= 0:
            raise OrderRefused(BAD_QUANTITY.format(quantity=quantity))
        config = await ctx.fresh_config()
        order_type = order_type or config.default_order_type
        order = (
            LimitOrder(action, quantity, limit_price) if order_type == "LMT" else MarketOrder(action, quantity)
        )
        order.tif = tif or config.default_tif
        order.account = ctx.account
        owner = owner or ctx.run.intent
        order.orderRef = order_ref_build(owner=owner, run_id=ctx.run.pk)
        try:
            await self._check(config, contract, order, reduce_only)
        except OrderRefused as refusal:
            await ctx.db(_record, ctx, contract, order, owner, OrderStatus.REFUSED, str(refusal))
            raise
        if ctx.dry_run:
            row_id = await ctx.db(_record, ctx, contract, order, owner, OrderStatus.PLANNED, "")
            placed = PlacedOrder(row_id, None, order.orderRef, True, contract.symbol, action, quantity)
        else:
            order.orderId = ctx.ib.client.getReqId()  # known before sending, so the row is written first
            row_id = await ctx.db(_record, ctx, contract, order, owner, OrderStatus.PENDING_SUBMIT, "")
            trade = ctx.ib.placeOrder(contract, order)
            placed = PlacedOrder(row_id, trade, order.orderRef, False, contract.symbol, action, quantity)
        self.placed.append(placed)
        return placed

    async def _check(self, config, contract, order: Order, reduce_only: bool) -> None:
        ctx = self.ctx
        symbol, action, quantity = contract.symbol, order.action, order.totalQuantity
        if ctx.worker is not None and ctx.worker.mode != config.mode:
            raise OrderRefused(MODE_MISMATCH.format(worker=ctx.worker.mode, active=config.mode))
        if not config.trading_enabled and not self.allowed_when_killed:
            raise OrderRefused(KILL_SWITCH)
        before = self.position(contract)
        after = before + (quantity if action == "BUY" else -quantity)
        if (config.soft_stop or reduce_only or not config.trading_enabled) and abs(after) > abs(before):
            raise OrderRefused(SOFT_STOP.format(action=action, quantity=quantity, symbol=symbol, before=before, after=after))
        if not config.symbol_allowed(_symbol_key(contract)) and abs(after) > abs(before):
            raise OrderRefused(NOT_ALLOWED.format(symbol=_symbol_key(contract), allowed=", ".join(config.allowed_symbols)))
        if config.max_order_quantity is not None and quantity > config.max_order_quantity and contract.secType != "CASH":
            raise OrderRefused(MAX_QUANTITY.format(quantity=quantity, symbol=symbol, limit=config.max_order_quantity))
        if config.max_order_notional is not None:
            price = order.lmtPrice if order.orderType == "LMT" else await ctx.price(contract)
            notional = base_notional(contract, price, quantity)
            if notional > config.max_order_notional:
                raise OrderRefused(
                    MAX_NOTIONAL.format(quantity=quantity, symbol=symbol, price=price, notional=notional, limit=config.max_order_notional)
                )
        self._check_duplicate(contract, order)
        if config.what_if_check and not ctx.dry_run:
            await self._what_if(contract, order)

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
            raise OrderRefused(WHAT_IF.format(action=order.action, quantity=order.totalQuantity, symbol=contract.symbol, reason="no answer"))
        if state.warningText:
            raise OrderRefused(
                WHAT_IF.format(action=order.action, quantity=order.totalQuantity, symbol=contract.symbol, reason=state.warningText)
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


def _symbol_key(contract) -> str:
    if contract.secType == "CASH":
        return f"{contract.symbol}.{contract.currency}"
    return contract.symbol


def _record(ctx: IntentContext, contract, order: Order, owner: str, status: str, reason: str) -> int:
    """The order row and its activity entry, written before anything is sent."""
    fields = contract_fields(contract)
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
        remaining=Decimal(str(order.totalQuantity)) if status != OrderStatus.REFUSED else 0,
        last_error=reason,
        dry_run=status == OrderStatus.PLANNED,
        **fields,
    )
    verbs = {OrderStatus.REFUSED: "refused", OrderStatus.PLANNED: "planned (dry run)", OrderStatus.PENDING_SUBMIT: "sending"}
    text = f"{verbs[status]}: {order.action} {order.totalQuantity:g} {fields['symbol']} {order.orderType}"
    activity_record(
        kind=ActivityKind.ORDER_REFUSED if status == OrderStatus.REFUSED else ActivityKind.ORDER,
        severity=Severity.WARNING if status == OrderStatus.REFUSED else Severity.INFO,
        message=text + (f" — {reason}" if reason else ""),
        mode=ctx.mode,
        strategy=owner,
        run=ctx.run,
        payload={"order": row.pk, "order_ref": order.orderRef, "reason": reason},
    )
    return row.pk
