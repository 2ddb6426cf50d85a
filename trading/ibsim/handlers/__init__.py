"""Request handlers, one function per TWS request id: ``handler(session, field_reader)``."""

from __future__ import annotations

import logging

from trading.ibsim.handlers import account, connection, market, orders, reference
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
    In.REQ_MKT_DEPTH: reference.req_mkt_depth,
    In.CANCEL_MKT_DEPTH: reference.cancel_mkt_depth,
    In.REQ_MKT_DEPTH_EXCHANGES: reference.req_mkt_depth_exchanges,
    In.REQ_SMART_COMPONENTS: reference.req_smart_components,
    In.REQ_TICK_BY_TICK_DATA: reference.req_tick_by_tick,
    In.CANCEL_TICK_BY_TICK_DATA: reference.cancel_tick_by_tick,
    In.REQ_HISTORICAL_TICKS: reference.req_historical_ticks,
    In.REQ_HISTOGRAM_DATA: reference.req_histogram_data,
    In.CANCEL_HISTOGRAM_DATA: reference.cancel_histogram_data,
    In.REQ_SCANNER_PARAMETERS: reference.req_scanner_parameters,
    In.REQ_SCANNER_SUBSCRIPTION: reference.req_scanner_subscription,
    In.CANCEL_SCANNER_SUBSCRIPTION: reference.cancel_scanner_subscription,
    In.REQ_FUNDAMENTAL_DATA: reference.req_fundamental_data,
    In.CANCEL_FUNDAMENTAL_DATA: reference.cancel_fundamental_data,
    In.REQ_NEWS_PROVIDERS: reference.req_news_providers,
    In.REQ_NEWS_ARTICLE: reference.req_news_article,
    In.REQ_HISTORICAL_NEWS: reference.req_historical_news,
    In.REQ_NEWS_BULLETINS: reference.ignore,
    In.CANCEL_NEWS_BULLETINS: reference.ignore,
    In.REQ_WSH_META_DATA: reference.req_wsh,
    In.REQ_WSH_EVENT_DATA: reference.req_wsh,
    In.CANCEL_WSH_META_DATA: reference.cancel_wsh,
    In.CANCEL_WSH_EVENT_DATA: reference.cancel_wsh,
    In.REQUEST_FA: reference.request_fa,
    In.REQ_SOFT_DOLLAR_TIERS: reference.req_soft_dollar_tiers,
    In.REQ_FAMILY_CODES: reference.req_family_codes,
    In.REQ_SEC_DEF_OPT_PARAMS: reference.req_sec_def_opt_params,
    In.REQ_CALC_IMPLIED_VOLAT: reference.req_calc_option,
    In.REQ_CALC_OPTION_PRICE: reference.req_calc_option,
    In.CANCEL_CALC_IMPLIED_VOLAT: reference.cancel_calc_option,
    In.CANCEL_CALC_OPTION_PRICE: reference.cancel_calc_option,
}

# Where the request id (order id for placeOrder) sits in each request that has one, so a request
# that cannot be served can be answered with an error, which ends the client's wait (a handler that
# fails answers 322 with it). What is left unserved with a request id: exerciseOptions (21).
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
