"""The IB client library: the one module that imports it (ib_insync by default, ib_async when installed).

The rest of the project imports what it uses from here (``from trading.iblib import IB, Stock``) and
never names ``ib_insync`` or ``ib_async`` (tests/worker/test_iblib.py checks; the paper gateway under
trading/ibsim/ is a server and imports neither). Which library is the one installed: ib_insync 0.9.86
from requirements.txt, or ib_async (its maintained fork) from requirements-ibasync.txt in its place.
The two cannot share a virtualenv (ib_async's aeventkit replaces ib_insync's eventkit module); if
ib_insync is importable it is the one used.

On ib_async, importing this module also makes ``import ib_insync`` — and ``ib_insync.util``, every
submodule — resolve to ib_async's own modules (the same objects, never a second copy), so users'
handler and intent files written for ib_insync run unchanged. The loading paths call
``ib_insync_alias()`` before they import any user file: the handler loader, the intent registry and
the Django app setup (so the web process, the q2 cluster and the worker all have it).

Differences between ib_insync 0.9.86 and ib_async 2.1.0 that the project meets are absorbed here and
only here; the other modules are written against ib_insync's API. Found by running the worker and
intents tests on ib_async (``python3 dev.py test-ibasync``) and by reading the two libraries' sources;
the same names, events, event payloads, wrapper structures and client calls otherwise:

* **An order IB makes Inactive.** IB reports some rejections (margin, for one) as status Inactive, then
  an error with the reason. ib_async counts Inactive as done and drops that error; ib_insync counts it
  neither done nor working and cancels the trade on the error. On ib_async the reason goes into the
  trade's log (the worker records it as the order's last error, an intent reports it) and the status
  stays IB's Inactive, which both ``isDone()`` (ib_async) and the console's records count as final.
* **IB's warnings and errors about an order or a request.** ib_async 2.1.0 writes a status IB does not
  have, ``ValidationError``, into ``trade.orderStatus.status`` for a warning about an order (399 "will
  not be placed at the exchange until the open", 404, 434, ...) and leaves it there until IB's next
  status message; the worker would record it as the order's status (seen: an order placed while the
  market is closed recorded as ``ValidationError`` rather than ``PreSubmitted``). ib_async also made
  three of ib_insync's errors warnings (105 modify does not match, 321 validation failed, 329 cannot
  change the order type): an order IB refused on placement would stay pending, and a request IB
  refused (a what-if check, historical data with a bad duration) would be awaited forever. On
  ib_async this module's ``Wrapper.error`` therefore handles these as follows (the rest is ib_async's
  own code, e.g. 110 on a new order cancels it):

  - a code both libraries call a warning, about an order: logged, the trade untouched (ib_insync);
  - 105/321/329 for a request in flight: the request ends, with ``RequestError`` when
    ``IB.RaiseRequestErrors`` is set (ib_insync);
  - 105/321/329 for an order IB has not accepted yet (still ``PendingSubmit``): IB refused it, the trade
    is cancelled with the error in its log (ib_insync);
  - 105/321/329 for a live order (a modify IB turned down): the order stays live with IB's last status,
    the error in its log and the status events emitted (ib_async's reading, without the made-up status;
    ib_insync cancels the trade locally although IB keeps the order working).

Left as each library has it, because the console's code does not depend on them (a user's file may):
``qualifyContractsAsync`` puts None in the place of a contract it cannot qualify on ib_async, where
ib_insync leaves it out (``ctx.qualify`` raises for an unknown contract on both); ``isDone()`` is true
for Inactive on ib_async only; ``connect``/``connectAsync`` take ``raiseSyncErrors`` and ``fetchFields``
on ib_async only; error 110 for a new order cancels it on ib_async only.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from functools import wraps

DEFAULT = "ib_insync"
FORK = "ib_async"

# ib_insync when it is importable, ib_async otherwise. find_spec, not try/except ImportError: a broken
# ib_insync install must fail loudly rather than switch libraries behind the user's back.
NAME = DEFAULT if importlib.util.find_spec(DEFAULT) is not None else FORK
lib = importlib.import_module(NAME)
VERSION: str = getattr(lib, "__version__", "?")
LOGGER = NAME  # the root of the library's loggers ("ib_insync.client", "ib_async.client", ...)

IB = lib.IB
util = lib.util
UNSET_DOUBLE = lib.util.UNSET_DOUBLE
UNSET_INTEGER = lib.util.UNSET_INTEGER

AccountValue = lib.AccountValue
BarData = lib.BarData
BarDataList = lib.BarDataList
CommissionReport = lib.CommissionReport
Contract = lib.Contract
Execution = lib.Execution
ExecutionFilter = lib.ExecutionFilter
Fill = lib.Fill
Forex = lib.Forex
LimitOrder = lib.LimitOrder
MarketOrder = lib.MarketOrder
Order = lib.Order
OrderStatus = lib.OrderStatus
PnL = lib.PnL
RealTimeBar = lib.RealTimeBar
RealTimeBarList = lib.RealTimeBarList
Stock = lib.Stock
StopLimitOrder = lib.StopLimitOrder
StopOrder = lib.StopOrder
TagValue = lib.TagValue
Trade = lib.Trade

__all__ = [
    "DEFAULT",
    "FORK",
    "IB",
    "LOGGER",
    "NAME",
    "UNSET_DOUBLE",
    "UNSET_INTEGER",
    "VERSION",
    "AccountValue",
    "BarData",
    "BarDataList",
    "CommissionReport",
    "Contract",
    "Execution",
    "ExecutionFilter",
    "Fill",
    "Forex",
    "LimitOrder",
    "MarketOrder",
    "Order",
    "OrderStatus",
    "PnL",
    "RealTimeBar",
    "RealTimeBarList",
    "Stock",
    "StopLimitOrder",
    "StopOrder",
    "TagValue",
    "Trade",
    "ib_insync_alias",
    "lib",
    "util",
]


def ib_insync_alias() -> bool:
    """On ib_async, make ``import ib_insync[.X]`` give ib_async's modules; idempotent. True when aliased."""
    if NAME == DEFAULT:
        return False
    # ib_async's __init__ imports every one of its submodules, so they are all in sys.modules by now
    # (tests/worker/test_iblib.py checks each one is aliased).
    for name, module in list(sys.modules.items()):
        if name == FORK or name.startswith(FORK + "."):
            sys.modules.setdefault(DEFAULT + name[len(FORK) :], module)
    return True


# ib_async 2.1.0's warning codes (its Wrapper.error); the three it moved there from ib_insync's errors.
FORK_WARNINGS = frozenset({105, 110, 165, 321, 329, 399, 404, 434, 492, 10167})
FORK_MADE_WARNINGS = frozenset({105, 321, 329})


def _fork_order_errors(error):
    """ib_async's ``Wrapper.error``, with IB's errors about an order or a request in flight handled as the
    module docstring says; every other error is ib_async's own code."""

    @wraps(error)
    def order_error(self, reqId: int, errorCode: int, errorString: str, advancedOrderRejectJson: str):  # noqa: N803
        trade = self.trades.get((self.clientId, reqId)) if reqId != -1 else None
        if errorCode not in FORK_WARNINGS and not 2100 <= errorCode < 2200:  # an error to both libraries
            if trade is None or trade.orderStatus.status != OrderStatus.Inactive:
                return error(self, reqId, errorCode, errorString, advancedOrderRejectJson)
            return _inactive_reason(self, trade, reqId, errorCode, errorString, advancedOrderRejectJson)
        request = reqId in self._futures
        pending = trade is not None and trade.orderStatus.status == OrderStatus.PendingSubmit
        if errorCode == 110 and (request or pending):
            return error(self, reqId, errorCode, errorString, advancedOrderRejectJson)  # ib_async: an error
        made = errorCode in FORK_MADE_WARNINGS
        if trade is None and not (request and made):
            return error(self, reqId, errorCode, errorString, advancedOrderRejectJson)  # logged, as by ib_insync
        contract = self._reqId2Contract.get(reqId)
        message = f"{'Error' if made else 'Warning'} {errorCode}, reqId {reqId}: {errorString}"
        if contract:
            message += f", contract: {contract}"
        (self._logger.error if made else self._logger.info)(message)
        if request and made:  # IB turned the request down: it ends (ib_insync), never waits forever
            failure = lib.wrapper.RequestError(reqId, errorCode, errorString) if self.ib.RaiseRequestErrors else None
            self._endReq(reqId, failure, success=failure is None)
        elif made and pending:  # IB refused the order: cancelled (ib_insync)
            if advancedOrderRejectJson:
                trade.advancedError = advancedOrderRejectJson
            trade.orderStatus.status = OrderStatus.Cancelled
            trade.log.append(lib.TradeLogEntry(self.lastTime, OrderStatus.Cancelled, message, errorCode))
            self._logger.warning(f"Canceled order: {trade}")
            self.ib.orderStatusEvent.emit(trade)
            trade.statusEvent.emit(trade)
            trade.cancelledEvent.emit(trade)
        elif made and not trade.isDone():  # IB turned a modify down: the order works on as IB last said
            trade.log.append(lib.TradeLogEntry(self.lastTime, trade.orderStatus.status, message, errorCode))
            self.ib.orderStatusEvent.emit(trade)
            trade.statusEvent.emit(trade)
        self.ib.errorEvent.emit(reqId, errorCode, errorString, contract)
        return None

    order_error.absorbs_fork_differences = True
    return order_error


def _inactive_reason(wrapper, trade, req_id: int, code: int, text: str, advanced: str) -> None:
    """IB's reason for an order it reported Inactive goes into the trade's log, the status events told.

    ib_async counts Inactive as done and so ignores the error IB sends next with the reason (ib_insync
    counts it as neither, and cancels the trade on that error, its reason logged)."""
    contract = wrapper._reqId2Contract.get(req_id)
    message = f"Error {code}, reqId {req_id}: {text}" + (f", contract: {contract}" if contract else "")
    wrapper._logger.error(message)
    if advanced:
        trade.advancedError = advanced
    trade.log.append(lib.TradeLogEntry(wrapper.lastTime, trade.orderStatus.status, message, code))
    wrapper.ib.orderStatusEvent.emit(trade)
    trade.statusEvent.emit(trade)
    wrapper.ib.errorEvent.emit(req_id, code, text, contract)


if NAME == FORK and not getattr(lib.wrapper.Wrapper.error, "absorbs_fork_differences", False):
    lib.wrapper.Wrapper.error = _fork_order_errors(lib.wrapper.Wrapper.error)

ib_insync_alias()
