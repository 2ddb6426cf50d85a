"""Order requests: place/modify, cancel, global cancel, open/completed orders, executions.

placeOrder is parsed field by field in the order ib_insync's ``Client.placeOrder`` writes them for
server versions 157-176; only the fields the simulator acts on are kept.
"""

from __future__ import annotations

import datetime as dt

from trading.ibsim.history import HistoryError, parse_end
from trading.ibsim.messages import orders as msg
from trading.ibsim.orders import OrderRequest, Side
from trading.ibsim.protocol import UNSET_DOUBLE, FieldReader, Out


def _price(value: float) -> float | None:
    return None if value >= UNSET_DOUBLE else value


def parse_place_order(r: FieldReader):
    """Read a placeOrder message into (order id, contract query, OrderRequest)."""
    order_id = r.integer()
    query = r.contract()
    r.skip(2)  # secIdType, secId
    request = OrderRequest(
        action=r.text().upper(), total_quantity=r.number(0.0), order_type=r.text().upper(),
        lmt_price=_price(r.number()), aux_price=_price(r.number()), tif=r.text().upper(), oca_group=r.text(),
        account=r.text(), open_close=r.text(), origin=r.integer(), order_ref=r.text(), transmit=r.flag(),
        parent_id=r.integer(),
    )  # fmt: skip
    r.skip(3)  # blockOrder, sweepToFill, displaySize
    request.trigger_method = r.integer()
    request.outside_rth = r.flag()
    r.skip(1)  # hidden
    if query.sec_type == "BAG":
        return order_id, query, request  # combos are unknown contracts here (error 200)
    r.skip(2)  # deprecated sharesAllocation, discretionaryAmt
    request.good_after_time, request.good_till_date = r.text(), r.text()
    r.skip(4)  # faGroup, faMethod, faPercentage, faProfile
    request.model_code = r.text()
    r.skip(3)  # shortSaleSlot, designatedLocation, exemptCode
    request.oca_type = r.integer()
    r.skip(5)  # rule80A, settlingFirm, allOrNone, minQty, percentOffset
    request.e_trade_only, request.firm_quote_only = r.flag(), r.flag()
    r.skip(10)  # nbboPriceCap .. volatilityType
    if r.text():  # deltaNeutralOrderType
        r.skip(9)
    else:
        r.skip(1)
    r.skip(2)  # continuousUpdate, referencePriceType
    request.trail_stop_price, request.trailing_percent = _price(r.number()), _price(r.number())
    r.skip(2)  # scaleInitLevelSize, scaleSubsLevelSize
    increment = r.number()
    if 0 < increment < UNSET_DOUBLE:
        r.skip(7)
    r.skip(3)  # scaleTable, activeStartTime, activeStopTime
    if r.text():  # hedgeType
        r.skip(1)
    r.skip(4)  # optOutSmartRouting, clearingAccount, clearingIntent, notHeld
    if r.flag():  # deltaNeutralContract
        r.skip(3)
    if r.text():  # algoStrategy
        r.skip(2 * r.integer())
    r.skip(1)  # algoId
    request.what_if = r.flag()
    request.misc_options = r.tag_values()
    r.skip(3)  # solicited, randomizeSize, randomizePrice
    if request.order_type == "PEG BENCH":
        r.skip(5)
    request.has_conditions = r.integer() > 0
    if not request.has_conditions:  # with conditions the order is refused: no need to read on
        r.skip(2)  # adjustedOrderType, triggerPrice
        request.lmt_price_offset = _price(r.number())
    return order_id, query, request


def place_order(session, r) -> None:
    """placeOrder: a new order, a modification (same id re-sent), or a what-if."""
    order_id, query, request = parse_place_order(r)
    request.exchange = query.exchange
    gateway = session.gateway
    resolved = None if query.sec_type == "BAG" else gateway.universe.resolve(query)
    if request.what_if:
        result = gateway.broker.what_if(session.client_id, order_id, resolved, request)
        if result is not None:
            order, margins = result
            session.send_raw(msg.open_order(order, resolved[0], session.server_version, margins))
        return
    gateway.broker.place(session.client_id, order_id, resolved, request)


def cancel_order(session, r) -> None:
    r.skip()  # version
    session.gateway.broker.cancel(session.client_id, r.integer())


def req_global_cancel(session, r) -> None:
    session.gateway.broker.global_cancel()


def _send_open_orders(session, orders) -> None:
    universe = session.gateway.universe
    for order in orders:
        inst = universe.by_con_id[order.con_id]
        session.send_raw(msg.open_order(order, inst, session.server_version))
        session.send_raw(msg.order_status(order))
    session.send(Out.OPEN_ORDER_END, 1)


def req_open_orders(session, r) -> None:
    """This client's open orders (client 0 also gets orders entered in TWS)."""
    _send_open_orders(session, session.gateway.broker.open_orders(session.client_id))


def req_all_open_orders(session, r) -> None:
    """Every open order of the account, whichever client (or TWS) placed it."""
    _send_open_orders(session, session.gateway.broker.open_orders())


def req_auto_open_orders(session, r) -> None:
    """Only client 0 can bind orders entered in TWS; other clients' calls are ignored."""
    r.skip()
    if session.client_id == 0:
        session.auto_open_orders = r.flag()


def req_completed_orders(session, r) -> None:
    api_only = r.flag()
    universe = session.gateway.universe
    for order in session.gateway.broker.completed_orders(api_only):
        session.send_raw(msg.completed_order(order, universe.by_con_id[order.con_id], session.server_version))
    session.send(Out.COMPLETED_ORDERS_END)


def req_executions(session, r) -> None:
    """Executions of the whole account (any client, TWS included) that pass the ExecutionFilter."""
    r.skip()  # version
    req_id = r.integer()
    client_id, account, since = r.integer(), r.text(), r.text()
    symbol, sec_type, exchange, side = r.text().upper(), r.text().upper(), r.text().upper(), r.text().upper()
    try:
        since_epoch = parse_end(since, dt.datetime.now(dt.UTC)).timestamp() if since else 0.0
    except HistoryError:
        since_epoch = 0.0
    wanted_side = {Side.BUY: Side.BOUGHT, Side.SELL: Side.SOLD}.get(side, side)
    universe = session.gateway.universe
    for execution in session.gateway.broker.executions:
        inst = universe.by_con_id[execution.con_id]
        if (
            (client_id and execution.client_id != client_id)
            or (account and execution.account != account)
            or execution.time < since_epoch
            or (symbol and inst.symbol != symbol)
            or (sec_type and inst.sec_type != sec_type)
            or (exchange and exchange not in (execution.exchange, execution.venue))
            or (wanted_side and execution.side != wanted_side)
        ):
            continue
        session.send_raw(msg.exec_details(req_id, execution, inst))
        session.send_raw(msg.commission_report(execution))
    session.send(Out.EXECUTION_DATA_END, 1, req_id)
