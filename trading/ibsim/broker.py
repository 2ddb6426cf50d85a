"""The broker: accepts, works, fills and cancels orders against the market and the paper account.

It knows nothing about sockets. Everything a client should hear about goes through a
:class:`Notifier` (the server routes it to the owning client, the master client and client 0), and
delayed work (fills after the acknowledgement, partial-fill slices) goes through ``call_later``,
so the order of events matches IB's: the order is acknowledged (PreSubmitted), then Submitted,
then each fill is an execDetails, an openOrder/orderStatus and a commissionReport, followed by
position, portfolio and account-value updates.

Order ids are per client id, as at IB: ``(client_id, order_id)`` names an order, the same id can be
used by two clients, and an id at or below the highest one a client has used is error 103.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from trading.ibsim.accounts import Account
from trading.ibsim.auctions import SessionAuctions
from trading.ibsim.contracts import Instrument, Universe
from trading.ibsim.market import Market
from trading.ibsim.matching import OrderWorking
from trading.ibsim.orders import (
    ExecutionRecord,
    OrderRecord,
    OrderRequest,
    OrderStatus,
    Side,
    api_refusal,
    execution_price,
    set_trail_stop,
    validate_for_instrument,
    validate_request,
)

FIRST_PERM_ID = 1_000_000_001

ERR_DUPLICATE_ID = (103, "Duplicate order id")
ERR_MODIFY_FILLED = (104, "Can't modify a filled order")
ERR_MODIFY_MISMATCH = (105, "Order being modified does not match original order")
ERR_NO_SECURITY = (200, "No security definition has been found for the request")
MSG_CANCELLED = "Order Canceled - reason:"


class Notifier(Protocol):
    """Where the broker reports what clients must be told."""

    def order_changed(self, order: OrderRecord) -> None: ...

    def order_error(self, client_id: int, order_id: int, code: int, message: str) -> None: ...

    def execution(self, execution: ExecutionRecord, order: OrderRecord) -> None: ...

    def commission(self, execution: ExecutionRecord, order: OrderRecord) -> None: ...

    def portfolio_changed(self, con_id: int) -> None: ...


class SilentNotifier:
    """A notifier that tells nobody (used until the server attaches itself)."""

    def order_changed(self, order):
        pass

    def order_error(self, client_id, order_id, code, message):
        pass

    def execution(self, execution, order):
        pass

    def commission(self, execution, order):
        pass

    def portfolio_changed(self, con_id):
        pass


@dataclass
class BrokerSettings:
    partial_fills: int = 1
    fill_delay: float = 0.0
    slice_interval: float = 0.05
    exec_prefix: str = "0000e0d5"
    first_perm_id: int = FIRST_PERM_ID


class Broker(OrderWorking, SessionAuctions):
    """Orders, executions and their effect on the account."""

    def __init__(
        self,
        universe: Universe,
        market: Market,
        account: Account,
        call_later: Callable[..., object],
        settings: BrokerSettings | None = None,
    ) -> None:
        self.universe = universe
        self.market = market
        self.account = account
        self.settings = settings or BrokerSettings()
        self.notifier: Notifier = SilentNotifier()
        self._call_later = call_later
        self.orders: dict[int, OrderRecord] = {}  # perm_id -> order, completed ones included
        self.executions: list[ExecutionRecord] = []
        self.last_order_ids: dict[int, int] = {}
        self.next_perm_id = self.settings.first_perm_id
        self.exec_seq = 0
        self.rejects: deque[tuple[int, str, bool]] = deque()
        self.dirty = False
        self._api_keys: dict[tuple[int, int], int] = {}
        self._working: dict[int, set[int]] = defaultdict(set)  # conId -> perm ids of active orders
        self._busy: set[int] = set()  # perm ids with a work step already scheduled
        self.session_open = True  # the simulated stock session (see trading.ibsim.auctions)

    # --- lookups ----------------------------------------------------------------------------

    def find(self, client_id: int, order_id: int) -> OrderRecord | None:
        perm_id = self._api_keys.get((client_id, order_id))
        return self.orders.get(perm_id) if perm_id is not None else None

    def next_valid_id(self, client_id: int) -> int:
        return self.last_order_ids.get(client_id, 0) + 1

    def open_orders(self, client_id: int | None = None) -> list[OrderRecord]:
        """Active orders of one client (client 0 also sees manual TWS orders), or of everyone."""
        orders = [o for o in self.orders.values() if o.is_active]
        if client_id is None:
            return orders
        return [o for o in orders if o.client_id == client_id and (client_id == 0 or not o.manual)]

    def completed_orders(self, api_only: bool) -> list[OrderRecord]:
        done = [o for o in self.orders.values() if not o.is_active and not (api_only and o.manual)]
        return sorted(done, key=lambda o: o.completed_at or 0.0)

    # --- placing ----------------------------------------------------------------------------

    def place(self, client_id: int, order_id: int, resolved, request: OrderRequest) -> None:
        """Handle a placeOrder: a new order, or a modification when the id is live for this client."""
        existing = self.find(client_id, order_id)
        if existing is not None:
            self._modify(existing, resolved, request)
            return
        if order_id <= self.last_order_ids.get(client_id, 0):
            self._refuse(client_id, order_id, ERR_DUPLICATE_ID)
            return
        self.last_order_ids[client_id] = order_id
        self.dirty = True
        refusal = api_refusal(request)
        if refusal is not None:
            self._refuse(client_id, order_id, refusal)
            return
        if resolved is None:
            self._refuse(client_id, order_id, ERR_NO_SECURITY)
            return
        refusal = (
            validate_request(request)
            or validate_for_instrument(request, resolved[0])
            or self._account_refusal(request)
        )
        if refusal is None and self.rejects:
            code, message, inactive = self.rejects.popleft()
            if inactive:  # IB reports the order Inactive first, then the reason
                self._record_inactive(client_id, order_id, resolved, request)
            self._refuse(client_id, order_id, (code, message))
            return
        if refusal is not None:
            self._refuse(client_id, order_id, refusal)
            return
        inst, exchange = resolved
        order = self._new_order(client_id, order_id, inst, exchange, request)
        self._accept(order)

    def what_if(self, client_id: int, order_id: int, resolved, request: OrderRequest):
        """Price a what-if order: ``(order, margins)`` without storing or executing anything, or None."""
        self.last_order_ids[client_id] = max(order_id, self.last_order_ids.get(client_id, 0))
        refusal = api_refusal(request)
        if refusal is not None:
            self._refuse(client_id, order_id, refusal)
            return None
        if resolved is None:
            self._refuse(client_id, order_id, ERR_NO_SECURITY)
            return None
        refusal = validate_request(request) or validate_for_instrument(request, resolved[0])
        if refusal is not None:
            self._refuse(client_id, order_id, refusal)
            return None
        inst, exchange = resolved
        order = self._new_order(client_id, order_id, inst, exchange, request, perm_id=0)
        order.status = OrderStatus.PRE_SUBMITTED
        quote = self.market.quote(inst.con_id)
        price = execution_price(order, quote) or (quote.ask if order.sign > 0 else quote.bid)
        fee = self.account.commission(inst, order.total_quantity, price)
        margins = self.account.what_if(inst, order.sign * order.total_quantity, price, fee)
        order.commission = fee
        return order, margins

    def _account_refusal(self, request: OrderRequest) -> tuple[int, str] | None:
        if request.account and request.account != self.account.account_id:
            return 201, f"Order rejected - reason:Account {request.account} is not managed by this login"
        return None

    def _refuse(self, client_id: int, order_id: int, error: tuple[int, str]) -> None:
        self.notifier.order_error(client_id, order_id, error[0], error[1])

    def _new_order(
        self, client_id, order_id, inst: Instrument, exchange, request: OrderRequest, perm_id=None
    ):
        if perm_id is None:
            perm_id = self.next_perm_id
            self.next_perm_id += 1
        slices = int(request.misc_options.get("ibsim_slices", 0) or self.settings.partial_fills)
        return OrderRecord(
            client_id=client_id, order_id=order_id, perm_id=perm_id, con_id=inst.con_id, exchange=exchange,
            action=request.action, total_quantity=request.total_quantity, order_type=request.order_type,
            lmt_price=request.lmt_price, aux_price=request.aux_price, tif=request.tif or "DAY",
            account=request.account or self.account.account_id, order_ref=request.order_ref,
            outside_rth=request.outside_rth, transmit=request.transmit, parent_id=request.parent_id,
            oca_group=request.oca_group, oca_type=request.oca_type, good_till_date=request.good_till_date,
            good_after_time=request.good_after_time, open_close=request.open_close, origin=request.origin,
            trigger_method=request.trigger_method, model_code=request.model_code, slices=max(slices, 1),
            trail_stop_price=request.trail_stop_price, trailing_percent=request.trailing_percent,
            lmt_price_offset=request.lmt_price_offset,
        )  # fmt: skip

    def _record_inactive(self, client_id, order_id, resolved, request) -> None:
        """Keep a rejected order as Inactive (IB does for some rejections) and tell its client."""
        inst, exchange = resolved
        order = self._new_order(client_id, order_id, inst, exchange, request)
        order.status = OrderStatus.INACTIVE
        order.completed_at, order.completed_status = time.time(), "Rejected"
        self._store(order)
        self.notifier.order_changed(order)

    def _store(self, order: OrderRecord) -> None:
        self.orders[order.perm_id] = order
        if not order.manual:
            self._api_keys[(order.client_id, order.order_id)] = order.perm_id
        if order.is_active:
            self._working[order.con_id].add(order.perm_id)
        self.dirty = True

    def _accept(self, order: OrderRecord) -> None:
        """Acknowledge a new order, then work it (untransmitted orders wait in PendingSubmit)."""
        order.status = OrderStatus.PRE_SUBMITTED if order.transmit else OrderStatus.PENDING_SUBMIT
        self._store(order)
        self.notifier.order_changed(order)
        if order.transmit:
            inst = self.universe.by_con_id[order.con_id]
            if not order.auction and self.held_by_session(order, inst):
                self.warn_held(order, inst)
            self._transmit_parent(order)
            self._schedule(order, self.settings.fill_delay)

    def _transmit_parent(self, order: OrderRecord) -> None:
        """A transmitted child releases its untransmitted parent and siblings (how brackets go out)."""
        if not order.parent_id:
            return
        parent = self.find(order.client_id, order.parent_id)
        family = [parent, *self._children(parent)] if parent else []
        for member in family:
            if member.is_active and not member.transmit:
                member.transmit = True
                member.status = OrderStatus.PRE_SUBMITTED
                self.notifier.order_changed(member)
                self._schedule(member, self.settings.fill_delay)

    def _children(self, parent: OrderRecord | None) -> list[OrderRecord]:
        if parent is None or parent.manual:
            return []
        return [
            o for o in self.orders.values()
            if o.parent_id == parent.order_id and o.client_id == parent.client_id and o is not parent
        ]  # fmt: skip

    def _modify(self, order: OrderRecord, resolved, request: OrderRequest) -> None:
        """Apply a re-sent order with a live id as a modification, refusing what IB refuses."""
        client_id, order_id = order.client_id, order.order_id
        if order.status == OrderStatus.FILLED:
            self._refuse(client_id, order_id, ERR_MODIFY_FILLED)
            return
        if not order.is_active:
            self._refuse(client_id, order_id, ERR_DUPLICATE_ID)
            return
        if resolved is None or resolved[0].con_id != order.con_id or request.action != order.action:
            self._refuse(client_id, order_id, ERR_MODIFY_MISMATCH)
            return
        refusal = api_refusal(request) or validate_request(request) or validate_for_instrument(request, resolved[0])
        if refusal is None and request.total_quantity < order.filled:
            refusal = (201, "Order rejected - reason:The new size is below the filled quantity")
        if refusal is not None:
            self._refuse(client_id, order_id, refusal)
            return
        retrail = (order.order_type, order.aux_price, order.trailing_percent, order.lmt_price_offset) != (
            request.order_type, request.aux_price, request.trailing_percent, request.lmt_price_offset
        )
        order.total_quantity, order.order_type = request.total_quantity, request.order_type
        order.lmt_price, order.aux_price = request.lmt_price, request.aux_price
        order.trailing_percent, order.lmt_price_offset = request.trailing_percent, request.lmt_price_offset
        order.tif, order.order_ref = request.tif or order.tif, request.order_ref
        order.outside_rth, order.good_till_date = request.outside_rth, request.good_till_date
        order.transmit = order.transmit or request.transmit
        self._modify_trail(order, request, retrail)
        if order.status == OrderStatus.PENDING_SUBMIT and order.transmit:
            order.status = OrderStatus.PRE_SUBMITTED
        self.dirty = True
        self.notifier.order_changed(order)
        if order.transmit:
            self._schedule(order, self.settings.fill_delay)

    def _modify_trail(self, order: OrderRecord, request: OrderRequest, retrail: bool) -> None:
        """A trailing order keeps its stop through a modify unless its trail changed: then it trails
        afresh from the current price. ib_insync re-sends the trailStopPrice it was first given, so
        a re-sent stop is honoured only before the order has started trailing."""
        started = order.trail_anchor is not None
        if not order.is_trailing or retrail:
            order.trail_stop_price = order.trail_anchor = None
            if order.is_trailing and not started:
                order.trail_stop_price = request.trail_stop_price
            return
        if not started:
            order.trail_stop_price = request.trail_stop_price
        elif order.trail_stop_price is not None:
            set_trail_stop(order, self.universe.by_con_id[order.con_id], order.trail_stop_price)

    # --- cancelling -------------------------------------------------------------------------

    def cancel(self, client_id: int, order_id: int) -> None:
        """cancelOrder: only the owning client id can cancel, as at IB."""
        order = self.find(client_id, order_id)
        if order is None:
            # Order ids live in the placing client's id space, so another client's order is simply
            # not found from here: IB answers 10147.
            self._refuse(
                client_id, order_id, (10147, f"OrderId {order_id} that needs to be cancelled is not found.")
            )
        elif not order.is_active:
            message = (
                f"Cancel attempted when order is not in a cancellable state. Order permId = {order.perm_id}"
            )
            self._refuse(client_id, order_id, (161, message))
        else:
            self._cancel(order)

    def global_cancel(self) -> int:
        """reqGlobalCancel: cancel every active order of every client and of TWS; returns how many."""
        active = self.open_orders()
        for order in active:
            if order.is_active:
                self._cancel(order, "Global Cancel")
        return len(active)

    def _cancel(self, order: OrderRecord, reason: str = "") -> None:
        self._complete(order, OrderStatus.CANCELLED)
        self.notifier.order_changed(order)
        self.notifier.order_error(order.client_id, order.order_id, 202, MSG_CANCELLED + reason)
        for child in self._children(order):
            if child.is_active:
                self._cancel(child, "parent order cancelled")

    def restore_records(self, orders, executions, last_order_ids, next_perm_id: int, exec_seq: int) -> None:
        """Replace every order and execution (loading saved state) and rebuild the indexes."""
        self.orders = {o.perm_id: o for o in orders}
        self.executions = list(executions)
        self.last_order_ids = dict(last_order_ids)
        self.next_perm_id, self.exec_seq = next_perm_id, exec_seq
        self._api_keys = {(o.client_id, o.order_id): o.perm_id for o in orders if not o.manual}
        self._working = defaultdict(set)
        for order in orders:
            if order.is_active:
                self._working[order.con_id].add(order.perm_id)
        self._busy.clear()

    # --- outside the API --------------------------------------------------------------------

    def external_trade(self, inst: Instrument, quantity: float, price: float | None, with_execution: bool):
        """A trade a human made in TWS: a filled manual order (client 0, order id 0, no orderRef),
        or with ``with_execution=False`` a bare position change (e.g. a transfer) with no fill at all."""
        quote = self.market.quote(inst.con_id)
        if price is None:
            price = quote.ask if quantity > 0 else quote.bid
        if not with_execution:
            self.account.adjust_position(inst.con_id, quantity, price)
            self.dirty = True
            self.notifier.portfolio_changed(inst.con_id)
            return None
        order = OrderRecord(
            client_id=0, order_id=0, perm_id=self.next_perm_id, con_id=inst.con_id,
            exchange=inst.default_exchange, action=Side.BUY if quantity > 0 else Side.SELL,
            total_quantity=abs(quantity), order_type="MKT",
            account=self.account.account_id, manual=True, status=OrderStatus.SUBMITTED,
        )  # fmt: skip
        self.next_perm_id += 1
        self._store(order)
        self.notifier.order_changed(order)
        self._fill(order, inst, abs(quantity), price, liquidity=2)
        return order
