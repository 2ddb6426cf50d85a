"""The simulated stock session and its two auctions: the close and the open.

The session is not tied to the wall clock (tests and demos move it by hand with the
``market_close()`` / ``market_open()`` controls); the random walk keeps running in both states::

    open ──market_close()──> closed ──market_open()──> open
         closing auction:            opening auction:
         MOC fill at the close,      OPG orders: MKT at the open, LMT if the open
         LOC if the close meets      meets its limit, otherwise cancelled;
         its limit, else cancelled;  then held orders work again
         DAY orders expire

Invariants:

- Auction orders (MOC, LOC, tif OPG) never trade on a tick, only in their auction, all at once and
  at the auction price (the instrument's mark then), not at the bid or ask.
- While closed, stock orders without ``outsideRth`` are held (PreSubmitted, IB's warning 399 when
  placed) and neither trigger nor fill; FX (IDEALPRO) trades regardless of the session.
- Only transmitted orders whose parent has filled take part in an auction or expire.

Mixed into :class:`~trading.ibsim.broker.Broker`, which owns ``session_open`` and the order book.
"""

from __future__ import annotations

import datetime as dt

from trading.ibsim.contracts import Instrument
from trading.ibsim.history import NEW_YORK
from trading.ibsim.orders import OrderRecord

MSG_HELD_UNTIL_OPEN = (
    "Order Message:\n{action} {quantity:g} {symbol} {exchange}\n"
    "Warning: your order will not be placed at the exchange until {when} US/Eastern"
)
REASON_DAY_EXPIRED = "DAY order expired at the close"
REASON_LOC_NOT_MET = "the closing price did not meet the LOC limit"
REASON_OPG_NOT_MET = "the opening price did not meet the OPG limit"


class SessionAuctions:
    """The session half of the broker."""

    def close_session(self) -> dict:
        """Run the closing auction, expire DAY orders, and close the session."""
        if not self.session_open:
            raise ValueError("the market is already closed")
        filled, cancelled = self._auction("close", REASON_LOC_NOT_MET)
        expired = [order for order in self._in_session() if order.tif == "DAY"]
        for order in expired:
            if order.is_active:  # a parent's expiry may already have cancelled its children
                self._cancel(order, REASON_DAY_EXPIRED)
        self.session_open = False
        self.dirty = True
        return {"session": "closed", "filled": filled, "cancelled": cancelled, "expired": len(expired)}

    def open_session(self) -> dict:
        """Open the session: run the opening auction, then let held orders work again."""
        if self.session_open:
            raise ValueError("the market is already open")
        self.session_open = True
        self.dirty = True
        filled, cancelled = self._auction("open", REASON_OPG_NOT_MET)
        self.on_market([con_id for con_id, perm_ids in self._working.items() if perm_ids])
        return {"session": "open", "filled": filled, "cancelled": cancelled}

    def held_by_session(self, order: OrderRecord, inst: Instrument) -> bool:
        """Whether the closed session keeps this order from triggering or trading now."""
        return not self.session_open and not inst.is_fx and not order.outside_rth

    def warn_held(self, order: OrderRecord, inst: Instrument) -> None:
        """IB's warning 399 for an order placed while the exchange is closed."""
        when = dt.datetime.now(NEW_YORK).strftime("%Y%m%d") + " 09:30:00"
        message = MSG_HELD_UNTIL_OPEN.format(
            action=order.action, quantity=order.total_quantity, symbol=inst.symbol,
            exchange=order.exchange, when=when,
        )  # fmt: skip
        self.notifier.order_error(order.client_id, order.order_id, 399, message)

    def _in_session(self) -> list[OrderRecord]:
        """Transmitted, released stock orders: the ones the session's transitions act on."""
        return [
            order for order in self.open_orders()
            if order.transmit and not self._waiting_for_parent(order)
            and not self.universe.by_con_id[order.con_id].is_fx
        ]  # fmt: skip

    def _auction(self, auction: str, reason: str) -> tuple[int, int]:
        """Cross every order waiting for ``auction`` at its instrument's mark; returns (filled, cancelled)."""
        filled = cancelled = 0
        for order in self._in_session():
            if order.auction != auction or not order.is_active:
                continue
            inst = self.universe.by_con_id[order.con_id]
            price = self.market.mark(inst.con_id)
            limit = order.lmt_price
            if limit is not None and (price - limit) * order.sign > 1e-12:
                self._cancel(order, reason)
                cancelled += 1
                continue
            self._fill(order, inst, order.remaining, price, liquidity=1)
            filled += 1
        return filled, cancelled
