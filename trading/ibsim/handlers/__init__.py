"""Request handlers, one function per TWS request id: ``handler(session, field_reader)``."""

from __future__ import annotations

import logging

from trading.ibsim.handlers import account, connection, market, orders
from trading.ibsim.protocol import In

log = logging.getLogger("trading.ibsim")

HANDLERS = {
    In.START_API: connection.start_api,
    In.REQ_IDS: connection.req_ids,
    In.REQ_CURRENT_TIME: connection.req_current_time,
    In.REQ_MANAGED_ACCTS: connection.req_managed_accounts,
    In.REQ_MARKET_DATA_TYPE: connection.req_market_data_type,
    In.REQ_USER_INFO: connection.req_user_info,
    In.PLACE_ORDER: orders.place_order,
    In.CANCEL_ORDER: orders.cancel_order,
    In.REQ_GLOBAL_CANCEL: orders.req_global_cancel,
    In.REQ_OPEN_ORDERS: orders.req_open_orders,
    In.REQ_ALL_OPEN_ORDERS: orders.req_all_open_orders,
    In.REQ_AUTO_OPEN_ORDERS: orders.req_auto_open_orders,
    In.REQ_COMPLETED_ORDERS: orders.req_completed_orders,
    In.REQ_EXECUTIONS: orders.req_executions,
    In.REQ_MKT_DATA: market.req_mkt_data,
    In.CANCEL_MKT_DATA: market.cancel_mkt_data,
    In.REQ_CONTRACT_DETAILS: market.req_contract_details,
    In.REQ_HISTORICAL_DATA: market.req_historical_data,
    In.CANCEL_HISTORICAL_DATA: market.cancel_historical_data,
    In.REQ_REAL_TIME_BARS: market.req_real_time_bars,
    In.CANCEL_REAL_TIME_BARS: market.cancel_real_time_bars,
    In.REQ_HEAD_TIMESTAMP: market.req_head_timestamp,
    In.CANCEL_HEAD_TIMESTAMP: market.cancel_head_timestamp,
    In.REQ_MATCHING_SYMBOLS: market.req_matching_symbols,
    In.REQ_MARKET_RULE: market.req_market_rule,
    In.REQ_POSITIONS: account.req_positions,
    In.CANCEL_POSITIONS: account.cancel_positions,
    In.REQ_ACCOUNT_UPDATES: account.req_account_updates,
    In.REQ_ACCOUNT_UPDATES_MULTI: account.req_account_updates_multi,
    In.CANCEL_ACCOUNT_UPDATES_MULTI: account.cancel_account_updates_multi,
    In.REQ_POSITIONS_MULTI: account.req_positions_multi,
    In.CANCEL_POSITIONS_MULTI: account.cancel_positions_multi,
    In.REQ_ACCOUNT_SUMMARY: account.req_account_summary,
    In.CANCEL_ACCOUNT_SUMMARY: account.cancel_account_summary,
    In.REQ_PNL: account.req_pnl,
    In.CANCEL_PNL: account.cancel_pnl,
    In.REQ_PNL_SINGLE: account.req_pnl_single,
    In.CANCEL_PNL_SINGLE: account.cancel_pnl_single,
}

# Where the request id (order id for placeOrder) sits in each request that has one, so a request
# that cannot be served can be answered with an error, which ends the client's wait. Besides the
# served requests: market depth, scanners, fundamentals, option calculations, news, histograms,
# historical ticks, tick-by-tick, WSH - which the paper gateway does not implement.
_REQ_ID_POSITION = {
    In.REQ_MKT_DATA: 2, In.PLACE_ORDER: 1, In.REQ_EXECUTIONS: 2, In.REQ_CONTRACT_DETAILS: 2,
    In.REQ_HISTORICAL_DATA: 1, In.REQ_REAL_TIME_BARS: 2, In.REQ_ACCOUNT_SUMMARY: 2,
    In.REQ_POSITIONS_MULTI: 2, In.REQ_ACCOUNT_UPDATES_MULTI: 2, In.REQ_MATCHING_SYMBOLS: 1,
    In.REQ_HEAD_TIMESTAMP: 1, In.REQ_PNL: 1, In.REQ_PNL_SINGLE: 1,
    10: 2, 21: 2, 22: 1, 52: 2, 54: 2, 55: 2, 78: 1, 79: 1, 83: 1, 84: 1, 86: 1, 88: 1, 96: 1, 97: 1,
    100: 1, 102: 1,
}  # fmt: skip


def request_id(fields: list[str]) -> int | None:
    """The request id of a request, or None for requests without one."""
    position = _REQ_ID_POSITION.get(int(fields[0]))
    if position is None or position >= len(fields):
        return None
    try:
        return int(fields[position])
    except ValueError:
        return None


def unsupported(session, r) -> None:
    """Refuse a request the paper gateway does not implement with error 321, when it has a reqId."""
    req_id = request_id(r.fields)
    if req_id is None:
        log.info("client %s: request %s not supported, ignored", session.client_id, r.fields[0])
        return
    cause = f"request {r.fields[0]} is not supported by the paper gateway"
    session.error(req_id, 321, f"Error validating request.-'ibsim' : cause - {cause}")
