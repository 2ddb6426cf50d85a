"""Outgoing reference and secondary market data: depth, tick-by-tick, historical ticks, histograms,
scanners, news, option parameters and computations."""

from __future__ import annotations

from trading.ibsim.protocol import Out, encode

# What reqMktDepthExchanges lists: the venues this gateway serves depth for (IB's layout:
# exchange, secType, listingExch, serviceDataType, aggGroup).
DEPTH_EXCHANGES = (
    ("IDEALPRO", "CASH", "", "Deep", 4),
    ("ISLAND", "STK", "NASDAQ", "Deep2", 7),
    ("ARCA", "STK", "ARCA", "Deep2", 4),
    ("NYSE", "STK", "NYSE", "Deep", 1),
    ("BATS", "STK", "BATS", "Deep2", 2),
    ("CME", "FUT", "", "Deep", 2),
    ("NYMEX", "FUT", "", "Deep", 2),
    ("CBOE", "OPT", "", "Deep", 2),
)

# The free news providers every account gets.
NEWS_PROVIDERS = (
    ("BRFG", "Briefing.com General Market Columns"),
    ("BRFUPDN", "Briefing.com Analyst Actions"),
    ("DJNL", "Dow Jones Newsletters"),
)

# The SMART components of the BBO exchange code ticks carry ("9c0001"): bit, exchange, letter.
SMART_COMPONENTS = (
    (0, "NYSE", "N"), (1, "ARCA", "P"), (2, "ISLAND", "Q"), (3, "BATS", "Z"), (4, "AMEX", "A"),
    (5, "IEX", "V"), (6, "EDGX", "K"), (7, "MEMX", "U"),
)  # fmt: skip

SCAN_CODES = ("TOP_PERC_GAIN", "TOP_PERC_LOSE", "MOST_ACTIVE", "HOT_BY_VOLUME", "HIGH_LAST", "LOW_LAST")


def scanner_parameters_xml() -> str:
    """A small ScanParameterResponse in IB's shape: instruments, locations and the scan codes served."""
    scans = "".join(
        f"<ScanType><displayName>{code.replace('_', ' ').title()}</displayName><scanCode>{code}</scanCode>"
        "<instruments>STK,ETF.EQ.US</instruments><absoluteColumns>false</absoluteColumns></ScanType>"
        for code in SCAN_CODES
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ScanParameterResponse>'
        '<InstrumentList varName="instrumentList">'
        "<Instrument><name>US Stocks</name><type>STK</type><filters>PRICE,VOLUME</filters></Instrument>"
        "<Instrument><name>US ETFs</name><type>ETF.EQ.US</type><filters>PRICE,VOLUME</filters></Instrument>"
        "</InstrumentList>"
        '<LocationTree varName="locationTree"><Location><displayName>US Stocks</displayName>'
        "<locationCode>STK.US</locationCode><instruments>STK</instruments><routeExchange>SMART</routeExchange>"
        "<LocationTree><Location><displayName>Listed/NASDAQ</displayName><locationCode>STK.US.MAJOR"
        "</locationCode><instruments>STK</instruments></Location></LocationTree></Location></LocationTree>"
        f'<ScanTypeList varName="scanTypeList">{scans}</ScanTypeList>'
        "</ScanParameterResponse>"
    )


def mkt_depth_exchanges() -> bytes:
    fields: list = [Out.MKT_DEPTH_EXCHANGES, len(DEPTH_EXCHANGES)]
    for row in DEPTH_EXCHANGES:
        fields += row
    return encode(*fields)


def news_providers() -> bytes:
    fields: list = [Out.NEWS_PROVIDERS, len(NEWS_PROVIDERS)]
    for row in NEWS_PROVIDERS:
        fields += row
    return encode(*fields)


def smart_components(req_id: int) -> bytes:
    fields: list = [Out.SMART_COMPONENTS, req_id, len(SMART_COMPONENTS)]
    for row in SMART_COMPONENTS:
        fields += row
    return encode(*fields)


def scanner_parameters() -> bytes:
    return encode(Out.SCANNER_PARAMETERS, 1, scanner_parameters_xml())


def scanner_data(req_id: int, rows: list) -> bytes:
    """scannerData: rank, contract fields, marketName, tradingClass, distance/benchmark/projection/legs."""
    fields: list = [Out.SCANNER_DATA, 3, req_id, len(rows)]
    for rank, inst in enumerate(rows):
        fields += [rank, inst.con_id, inst.symbol, inst.sec_type, "", 0.0, "", "SMART", inst.currency,
                   inst.local_symbol, inst.trading_class, inst.trading_class, "", "", "", ""]  # fmt: skip
    return encode(*fields)


def histogram(req_id: int, items: list[tuple[float, int]]) -> bytes:
    fields: list = [Out.HISTOGRAM_DATA, req_id, len(items)]
    for price, count in items:
        fields += [price, count]
    return encode(*fields)


def historical_ticks_midpoint(req_id: int, ticks: list[tuple[int, float]]) -> bytes:
    fields: list = [Out.HISTORICAL_TICKS, req_id, len(ticks)]
    for stamp, price in ticks:
        fields += [stamp, "", price, 0]
    return encode(*fields, 1)


def historical_ticks_bid_ask(req_id: int, ticks: list[tuple[int, float, float, float, float]]) -> bytes:
    fields: list = [Out.HISTORICAL_TICKS_BID_ASK, req_id, len(ticks)]
    for stamp, bid, ask, bid_size, ask_size in ticks:
        fields += [stamp, 0, bid, ask, bid_size, ask_size]
    return encode(*fields, 1)


def historical_ticks_last(req_id: int, ticks: list[tuple[int, float, float, str]]) -> bytes:
    fields: list = [Out.HISTORICAL_TICKS_LAST, req_id, len(ticks)]
    for stamp, price, size, exchange in ticks:
        fields += [stamp, 0, price, size, exchange, ""]
    return encode(*fields, 1)


def update_mkt_depth(req_id: int, position: int, operation: int, side: int, price: float, size: float) -> bytes:
    """updateMktDepth: operation 0 insert / 1 update / 2 delete; side 0 ask, 1 bid."""
    return encode(Out.UPDATE_MKT_DEPTH, 1, req_id, position, operation, side, price, size)


def tick_by_tick_last(req_id: int, kind: int, stamp: int, price: float, size: float, exchange: str) -> bytes:
    return encode(Out.TICK_BY_TICK, req_id, kind, stamp, price, size, 0, exchange, "")


def tick_by_tick_bid_ask(req_id: int, stamp: int, bid: float, ask: float, bid_size: float, ask_size: float) -> bytes:
    return encode(Out.TICK_BY_TICK, req_id, 3, stamp, bid, ask, bid_size, ask_size, 0)


def tick_by_tick_midpoint(req_id: int, stamp: int, midpoint: float) -> bytes:
    return encode(Out.TICK_BY_TICK, req_id, 4, stamp, midpoint)


def sec_def_opt_params(req_id: int, exchange: str, under_con_id: int, trading_class: str, multiplier: str,
                       expirations: list[str], strikes: list[float]) -> bytes:  # fmt: skip
    return encode(
        Out.SECURITY_DEFINITION_OPTION_PARAMETER, req_id, exchange, under_con_id, trading_class, multiplier,
        len(expirations), *expirations, len(strikes), *strikes,
    )  # fmt: skip


def sec_def_opt_params_end(req_id: int) -> bytes:
    return encode(Out.SECURITY_DEFINITION_OPTION_PARAMETER_END, req_id)


def option_computation(req_id: int, tick_type: int, values: tuple) -> bytes:
    """tickOptionComputation: impliedVol, delta, optPrice, pvDividend, gamma, vega, theta, undPrice."""
    return encode(Out.TICK_OPTION_COMPUTATION, req_id, tick_type, 0, *values)


def historical_news_end(req_id: int) -> bytes:
    return encode(Out.HISTORICAL_NEWS_END, req_id, 0)


def soft_dollar_tiers(req_id: int) -> bytes:
    return encode(Out.SOFT_DOLLAR_TIERS, req_id, 0)


def family_codes() -> bytes:
    return encode(Out.FAMILY_CODES, 0)
