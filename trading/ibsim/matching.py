"""Working orders: when a resting order triggers and fills, and what a fill does.

Mixed into :class:`~trading.ibsim.broker.Broker`, which owns the order book (``orders``,
``_working``: active perm ids per conId, ``_busy``: perm ids with a work step scheduled) and the
market, account, notifier and ``call_later`` used here.

A work step is: skip untransmitted orders and children whose parent has not filled; leave auction
orders to their auction and orders the closed session holds; trail trailing stops; trigger stops;
go Submitted; fill one slice if the price allows; schedule the next slice. Every price change
re-runs it for the instrument's resting orders.
"""

from __future__ import annotations

import time

from trading.ibsim.contracts import Instrument
from trading.ibsim.orders import (
    ExecutionRecord,
    OrderRecord,
    OrderStatus,
    Side,
    execution_price,
    is_triggered,
    slice_quantity,
    trail,
)


class OrderWorking:
    """The matching half of the broker."""

    def on_market(self, con_ids) -> None:
        """Re-check resting orders of instruments whose price changed."""
        for con_id in con_ids:
            perm_ids = self._working.get(con_id)
            if not perm_ids:
                continue
            for perm_id in list(perm_ids):
                order = self.orders.get(perm_id)
                if order is not None and perm_id not in self._busy:
                    self._work(order)

    def _schedule(self, order: OrderRecord, delay: float) -> None:
        if order.perm_id in self._busy:
            return
        self._busy.add(order.perm_id)
        self._call_later(delay, self._step, order.perm_id)

    def _step(self, perm_id: int) -> None:
        self._busy.discard(perm_id)
        order = self.orders.get(perm_id)
        if order is not None:
            self._work(order)

    def _waiting_for_parent(self, order: OrderRecord) -> bool:
        if not order.parent_id:
            return False
        parent = self.find(order.client_id, order.parent_id)
        return parent is not None and parent.status != OrderStatus.FILLED

    def _work(self, order: OrderRecord) -> None:
        """One matching attempt: trigger stops, go Submitted, fill a slice if the price allows."""
        if not order.is_active or not order.transmit or self._waiting_for_parent(order):
            return
        inst = self.universe.by_con_id[order.con_id]
        if order.auction:
            self._wait_for_auction(order)
            return
        if self.held_by_session(order, inst):
            self._hold(order, inst)
            return
        quote = self.market.quote(order.con_id)
        if order.is_trailing and not order.triggered and trail(order, inst, quote):
            self.dirty = True
            self.notifier.order_changed(order)  # IB re-sends openOrder with the new trailStopPrice
        if order.is_stop and not order.triggered:
            if not is_triggered(order, inst, quote):
                return
            order.triggered = True
        if order.status != OrderStatus.SUBMITTED:
            order.status = OrderStatus.SUBMITTED
            self.notifier.order_changed(order)
        price = execution_price(order, quote)
        if price is None:
            if order.tif in ("IOC", "FOK"):
                self._cancel(order, "IOC/FOK order could not be filled immediately")
            order.rested = True
            return
        immediate = order.tif in ("IOC", "FOK")
        quantity = order.remaining if immediate else slice_quantity(order, inst)
        # lastLiquidity: 1 = added (a resting limit was hit), 2 = removed (it crossed on arrival)
        self._fill(order, inst, quantity, price, liquidity=1 if order.rested else 2)
        if order.is_active:
            self._schedule(order, self.settings.slice_interval)

    def _wait_for_auction(self, order: OrderRecord) -> None:
        """MOC/LOC sit at the exchange (Submitted) until the close; OPG is held until the open."""
        if order.auction == "close" and order.status != OrderStatus.SUBMITTED:
            order.status = OrderStatus.SUBMITTED
            self.notifier.order_changed(order)

    def _hold(self, order: OrderRecord, inst: Instrument) -> None:
        """The session is closed: IOC/FOK cannot wait; anything else waits for the open."""
        if order.tif in ("IOC", "FOK"):
            self._cancel(order, "IOC/FOK order could not be filled immediately")

    def _fill(
        self, order: OrderRecord, inst: Instrument, quantity: float, price: float, liquidity: int
    ) -> None:
        fee = self.account.commission(inst, quantity, price)
        realized = self.account.apply_fill(inst, order.exchange, order.sign * quantity, price, fee)
        total = order.filled + quantity
        order.avg_fill_price = (order.avg_fill_price * order.filled + price * quantity) / total
        order.filled, order.last_fill_price = total, price
        order.commission += fee
        execution = self._record_execution(order, inst, quantity, price, fee, realized, liquidity)
        if order.remaining <= 1e-9:
            self._complete(order, OrderStatus.FILLED)
        self.notifier.execution(execution, order)
        self.notifier.order_changed(order)
        self.notifier.commission(execution, order)
        self.notifier.portfolio_changed(inst.con_id)
        self._after_fill(order)

    def _record_execution(self, order, inst, quantity, price, fee, realized, liquidity) -> ExecutionRecord:
        self.exec_seq += 1
        execution = ExecutionRecord(
            exec_id=f"{self.settings.exec_prefix}.{self.exec_seq:08x}.01.01", time=time.time(),
            client_id=order.client_id, order_id=order.order_id, perm_id=order.perm_id, con_id=inst.con_id,
            exchange=order.exchange, venue=inst.venue(order.exchange),
            side=Side.BOUGHT if order.sign > 0 else Side.SOLD, shares=quantity, price=price,
            cum_qty=order.filled, avg_price=order.avg_fill_price, order_ref=order.order_ref,
            account=order.account, commission=fee, realized_pnl=realized, liquidity=liquidity,
            model_code=order.model_code,
        )  # fmt: skip
        self.executions.append(execution)
        self.dirty = True
        return execution

    def _complete(self, order: OrderRecord, status: str) -> None:
        order.status = status
        order.completed_at, order.completed_status = time.time(), status
        self._working[order.con_id].discard(order.perm_id)
        self.dirty = True

    def _after_fill(self, order: OrderRecord) -> None:
        """OCA groups cancel on any fill; a filled parent releases its children, which are one OCA."""
        if order.oca_group:
            for other in self.open_orders():
                if (
                    other is not order
                    and other.oca_group == order.oca_group
                    and other.account == order.account
                ):
                    self._cancel(other, "OCA group member filled")
        if order.status != OrderStatus.FILLED:
            return
        for child in self._children(order):
            if child.is_active:
                self._schedule(child, self.settings.fill_delay)
        if order.parent_id:
            parent = self.find(order.client_id, order.parent_id)
            for sibling in self._children(parent):
                if sibling is not order and sibling.is_active:
                    self._cancel(sibling, "bracket sibling filled")
