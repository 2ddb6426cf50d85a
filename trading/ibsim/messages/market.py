"""Outgoing market and reference data: ticks, contract details, bars, symbol search, market rules."""

from __future__ import annotations

import datetime as dt
import struct

from trading.ibsim.contracts import MARKET_RULES, Instrument
from trading.ibsim.history import NEW_YORK, Bar, format_bar_time, session_bounds
from trading.ibsim.protocol import Out, encode, fmt_float

ORDER_TYPES = "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,DAY,FOK,GTC,GTD,IOC,LMT,MKT,NONALGO,OCA,STP,STP LMT,WHATIF"

# Tick types (https://interactivebrokers.github.io/tws-api/tick_types.html)
BID, ASK, LAST, HIGH, LOW, VOLUME, CLOSE, OPEN = 1, 2, 4, 6, 7, 8, 9, 14
BID_SIZE, ASK_SIZE, LAST_SIZE = 0, 3, 5
LAST_TIMESTAMP = 45
HALTED = 49

_pack_length = struct.Struct(">I").pack


def tick_price_prefix(req_id: int, tick_type: int) -> bytes:
    """The fixed start of a tickPrice message for one subscription and tick type (built once)."""
    return b"1\x006\x00%d\x00%d\x00" % (req_id, tick_type)


def tick_size_prefix(req_id: int, tick_type: int) -> bytes:
    return b"2\x006\x00%d\x00%d\x00" % (req_id, tick_type)


def price_tail(price: float, size: float) -> bytes:
    """The variable end of a tickPrice message: price, size and an empty attribute mask."""
    return b"%s\x00%s\x000\x00" % (fmt_float(price).encode(), fmt_float(size).encode())


def size_tail(size: float) -> bytes:
    return fmt_float(size).encode() + b"\x00"


def framed(prefix: bytes, tail: bytes) -> bytes:
    return _pack_length(len(prefix) + len(tail)) + prefix + tail


def tick_string(req_id: int, tick_type: int, value: str) -> bytes:
    return encode(Out.TICK_STRING, 6, req_id, tick_type, value)


def tick_generic(req_id: int, tick_type: int, value: float) -> bytes:
    return encode(Out.TICK_GENERIC, 6, req_id, tick_type, value)


def tick_snapshot_end(req_id: int) -> bytes:
    return encode(Out.TICK_SNAPSHOT_END, 1, req_id)


def market_data_type(req_id: int, data_type: int) -> bytes:
    return encode(Out.MARKET_DATA_TYPE, 1, req_id, data_type)


def tick_req_params(req_id: int, inst: Instrument) -> bytes:
    bbo = "" if inst.is_fx else "9c0001"
    return encode(Out.TICK_REQ_PARAMS, req_id, inst.min_tick, bbo, 3)


def _trading_hours(inst: Instrument, today: dt.date) -> tuple[str, str]:
    """IB's tradingHours/liquidHours strings for a week from ``today``."""
    trading, liquid = [], []
    for offset in range(7):
        day = today + dt.timedelta(days=offset)
        stamp = day.strftime("%Y%m%d")
        if day.weekday() >= 5:
            trading.append(f"{stamp}:CLOSED")
            liquid.append(f"{stamp}:CLOSED")
        elif inst.is_fx:
            previous = (day - dt.timedelta(days=1)).strftime("%Y%m%d")
            trading.append(f"{previous}:1715-{stamp}:1700")
            liquid.append(f"{previous}:1715-{stamp}:1700")
        else:  # the sessions history uses: holidays and early closes with an exchange calendar
            for hours, use_rth in ((trading, False), (liquid, True)):
                bounds = session_bounds(inst, day, use_rth)
                hours.append(f"{stamp}:{bounds[0]:%H%M}-{stamp}:{bounds[1]:%H%M}" if bounds else f"{stamp}:CLOSED")
    return ";".join(trading), ";".join(liquid)


def contract_details(req_id: int, inst: Instrument, exchange: str, version: int) -> bytes:
    """contractDetails; before server version 164 it had a version field and mdSizeMultiplier."""
    trading_hours, liquid_hours = _trading_hours(inst, dt.datetime.now(NEW_YORK).date())
    rules = ",".join([str(inst.market_rule_id)] * len(inst.exchanges))
    fields: list = [Out.CONTRACT_DATA]
    if version < 164:
        fields.append(8)
    fields += [
        req_id, inst.symbol, inst.sec_type, inst.last_trade, inst.strike, inst.right, exchange, inst.currency,
        inst.local_symbol, inst.trading_class, inst.trading_class, inst.con_id, inst.min_tick,
    ]  # fmt: skip
    if version < 164:
        fields.append(1)
    fields += [
        inst.multiplier_text, ORDER_TYPES, ",".join(inst.exchanges), 1, inst.under_con_id, inst.long_name,
        inst.primary_exchange, inst.contract_month, inst.industry, inst.category, inst.subcategory,
        inst.time_zone, trading_hours, liquid_hours, "", "", 0, 1, inst.under_symbol, inst.under_sec_type, rules,
        inst.last_trade, inst.stock_type,
    ]  # fmt: skip
    suggested = 1.0 if inst.is_fx else 100.0
    if version == 163:
        fields.append(suggested)
    if version >= 164:
        fields += [1.0, 1.0, suggested]  # minSize, sizeIncrement, suggestedSizeIncrement
    return encode(*fields)


def contract_details_end(req_id: int) -> bytes:
    return encode(Out.CONTRACT_DATA_END, 1, req_id)


def historical_data(req_id: int, start: str, end: str, bars: list[Bar], format_date: int) -> bytes:
    fields: list = [Out.HISTORICAL_DATA, req_id, start, end, len(bars)]
    for bar in bars:
        fields += [format_bar_time(bar.time, format_date), bar.open, bar.high, bar.low, bar.close,
                   bar.volume, bar.wap, bar.count]  # fmt: skip
    return encode(*fields)


def historical_data_update(req_id: int, bar: Bar, format_date: int) -> bytes:
    """historicalDataUpdate: note the order count, date, open, close, high, low, wap, volume."""
    return encode(
        Out.HISTORICAL_DATA_UPDATE,
        req_id,
        bar.count,
        format_bar_time(bar.time, format_date),
        bar.open,
        bar.close,
        bar.high,
        bar.low,
        bar.wap,
        bar.volume,
    )


def realtime_bar(req_id: int, start: int, bar: Bar) -> bytes:
    return encode(
        Out.REAL_TIME_BARS,
        3,
        req_id,
        start,
        bar.open,
        bar.high,
        bar.low,
        bar.close,
        bar.volume,
        bar.wap,
        bar.count,
    )


def head_timestamp(req_id: int, stamp: str) -> bytes:
    return encode(Out.HEAD_TIMESTAMP, req_id, stamp)


def symbol_samples(req_id: int, instruments: list[Instrument], version: int) -> bytes:
    fields: list = [Out.SYMBOL_SAMPLES, req_id, len(instruments)]
    for inst in instruments:
        fields += [inst.con_id, inst.symbol, inst.sec_type, inst.primary_exchange, inst.currency, 0]
        if version >= 176:
            fields += [inst.long_name, ""]
    return encode(*fields)


def market_rule(rule_id: int) -> bytes:
    increments = MARKET_RULES.get(rule_id, ((0.0, 0.01),))
    fields: list = [Out.MARKET_RULE, rule_id, len(increments)]
    for low_edge, increment in increments:
        fields += [low_edge, increment]
    return encode(*fields)
