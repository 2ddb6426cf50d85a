"""Outgoing order messages: openOrder, orderStatus, completedOrder, execDetails, commissionReport.

Field order follows ib_insync's ``Decoder.openOrder``/``completedOrder``/``execDetails`` for the
negotiated server version (157-176). Fields the simulator has no use for are sent empty (the
decoder turns an empty field into the Order dataclass default) and list counts are sent as 0.
"""

from __future__ import annotations

import datetime as dt

from trading.ibsim.contracts import Instrument
from trading.ibsim.history import NEW_YORK
from trading.ibsim.orders import ExecutionRecord, OrderRecord
from trading.ibsim.protocol import Out, encode


def ib_time(epoch: float) -> str:
    """A timestamp as TWS writes it in executions and completed orders."""
    return dt.datetime.fromtimestamp(epoch, NEW_YORK).strftime("%Y%m%d %H:%M:%S") + " US/Eastern"


def contract_fields(inst: Instrument, exchange: str) -> list:
    """conId .. tradingClass without primaryExchange, as openOrder, execDetails and position send it."""
    return [
        inst.con_id, inst.symbol, inst.sec_type, inst.last_trade, inst.strike, inst.right, inst.multiplier_text,
        exchange, inst.currency, inst.local_symbol, inst.trading_class,
    ]  # fmt: skip


def _order_head(order: OrderRecord) -> list:
    return [
        order.action, order.total_quantity, order.order_type, order.lmt_price, order.aux_price, order.tif,
        order.oca_group, order.account, order.open_close, order.origin, order.order_ref,
    ]  # fmt: skip


def _margin_fields(margins: dict[str, str] | None) -> list:
    if margins is None:
        return [""] * 9
    keys = ("init_before", "maint_before", "equity_before", "init_change", "maint_change", "equity_change",
            "init_after", "maint_after", "equity_after")  # fmt: skip
    return [margins[k] for k in keys]


def open_order(
    order: OrderRecord, inst: Instrument, version: int, margins: dict[str, str] | None = None
) -> bytes:
    """openOrder: the order as TWS echoes it, with its OrderState (margins only for what-if)."""
    what_if = margins is not None
    commission = order.commission if (what_if or order.filled) else None
    fields = [Out.OPEN_ORDER, order.order_id, *contract_fields(inst, order.exchange), *_order_head(order)]
    fields += [order.client_id, order.perm_id, order.outside_rth, False, 0.0, order.good_after_time, ""]
    fields += ["", "", "", "", order.model_code, order.good_till_date, "", "", "", 0, "", -1]
    fields += [0, "", "", "", "", "", "", False, False, False, "", order.oca_type, False, False, ""]
    fields += [order.parent_id, order.trigger_method, "", "", "", ""]
    fields += [False, "", order.trail_stop_price, order.trailing_percent]  # .. trailingPercent
    fields += ["", "", "", 0, 0, 0]  # basisPoints .. combo legs and params
    fields += ["", "", "", ""]  # scale sizes, scale increment, hedgeType
    fields += [False, "", "", False, 0, ""]  # optOutSmartRouting .. deltaNeutral flag, algoStrategy
    fields += [False, what_if, order.status, *_margin_fields(margins)]
    fields += [commission, commission if what_if else None, commission if what_if else None, "USD", ""]
    fields += [False, False, 0]  # randomizeSize, randomizePrice, conditions
    fields += ["", "", order.trail_stop_price, order.lmt_price_offset]  # adjustedOrderType .. lmtPriceOffset
    fields += ["", "", "", 0, "", "", "", "", False, False, False, False]
    if version >= 159:
        fields.append("")  # duration
    if version >= 160:
        fields.append("")  # postToAts
    if version >= 162:
        fields.append(False)  # autoCancelParent
    if version >= 170:
        fields += ["", "", "", "", ""]
    return encode(*fields)


def order_status(order: OrderRecord) -> bytes:
    """orderStatus (no version field since server version 131 added mktCapPrice)."""
    return encode(
        Out.ORDER_STATUS,
        order.order_id,
        order.status,
        order.filled,
        order.remaining,
        order.avg_fill_price,
        order.perm_id,
        order.parent_id,
        order.last_fill_price,
        order.client_id,
        order.why_held,
        0.0,
    )


def completed_order(order: OrderRecord, inst: Instrument, version: int) -> bytes:
    """completedOrder: like openOrder but without order id and client id, with completion time."""
    fields = [Out.COMPLETED_ORDER, *contract_fields(inst, order.exchange), *_order_head(order)]
    fields += [order.perm_id, order.outside_rth, False, 0.0, order.good_after_time]
    fields += ["", "", "", "", order.model_code, order.good_till_date, "", "", "", 0, "", -1]
    fields += ["", "", "", "", "", "", False, False, "", order.oca_type, order.trigger_method, "", "", "", ""]
    fields += [False, "", order.trail_stop_price, order.trailing_percent]  # .. trailingPercent
    fields += ["", 0, 0, 0]  # comboLegsDescrip, combo legs and params
    fields += ["", "", "", ""]  # scale sizes, scale increment, hedgeType
    fields += ["", "", False, 0, ""]  # clearingAccount .. deltaNeutral flag, algoStrategy
    fields += [False, order.status, False, False, 0]
    completed = ib_time(order.completed_at) if order.completed_at else ""
    fields += [order.trail_stop_price, order.lmt_price_offset]
    fields += ["", False, False, "", order.filled, 0, False, "", False, False, 0]
    fields += [completed, order.completed_status]
    if version >= 170:
        fields += ["", "", "", "", ""]
    return encode(*fields)


def exec_details(req_id: int, execution: ExecutionRecord, inst: Instrument) -> bytes:
    """execDetails: reqId -1 for a live fill, the request's id for a reqExecutions answer."""
    return encode(
        Out.EXECUTION_DATA,
        req_id,
        execution.order_id,
        *contract_fields(inst, execution.exchange),
        execution.exec_id,
        ib_time(execution.time),
        execution.account,
        execution.venue,
        execution.side,
        execution.shares,
        execution.price,
        execution.perm_id,
        execution.client_id,
        0,
        execution.cum_qty,
        execution.avg_price,
        execution.order_ref,
        "",
        "",
        execution.model_code,
        execution.liquidity,
    )


def commission_report(execution: ExecutionRecord) -> bytes:
    """commissionReport; realized P&L is empty (IB's "unset") for a fill that only opened a position."""
    return encode(
        Out.COMMISSION_REPORT,
        1,
        execution.exec_id,
        execution.commission,
        "USD",
        execution.realized_pnl,
        "",
        "",
    )
