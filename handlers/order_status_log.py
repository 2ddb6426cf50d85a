"""Log every order status change: what the order is, where it stands, how much is still working.

The IB worker records orders and their activity itself; this example shows the shape of a
handler. It receives the live ``ib`` first and uses it for ``ib.openTrades()``, which reads
ib_insync's local state and sends nothing to IB, so it is safe inside a handler.
"""

import logging

from ib_insync import IB, Trade

from trading.handlers import IBEventRegistry

logger = logging.getLogger(__name__)


@IBEventRegistry.collect("orderStatus")
def log_order_status(ib: IB, trade: Trade) -> None:
    order, status = trade.order, trade.orderStatus
    symbol = trade.contract.localSymbol or trade.contract.symbol
    logger.info(
        "order %s %s %s %s [%s]: %s, filled %s, remaining %s, avg price %s; %d order(s) working",
        order.orderId,
        order.action,
        order.totalQuantity,
        symbol,
        order.orderRef or "-",
        status.status,
        status.filled,
        status.remaining,
        status.avgFillPrice,
        len(ib.openTrades()),
    )
