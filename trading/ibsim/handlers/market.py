"""Market and reference data requests: ticks, contract details, historical and real-time bars."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from trading.ibsim import history
from trading.ibsim.messages import market as msg
from trading.ibsim.protocol import Out, encode
from trading.ibsim.subscriptions import (
    LiveBarsSub,
    MarketDataSub,
    RealtimeBarsSub,
    quote_price,
    snapshot_messages,
)

ERR_NO_SECURITY = (200, "No security definition has been found for the request")
MSG_PACING = "Historical Market Data Service error message:Historical data request pacing violation"
MSG_NO_DATA = "Historical Market Data Service error message:HMDS query returned no data"
MSG_UPDATE_WITH_END = "Error validating request.-'bP' : cause - End date not supported with live updates"


@dataclass
class HistoryRequest:
    bar_size: str
    duration: str
    use_rth: bool
    what_to_show: str
    format_date: int


def _skip_combo_legs(query, r) -> None:
    if query.sec_type == "BAG":
        r.skip(4 * r.integer())


def req_mkt_data(session, r) -> None:
    """reqMktData: streaming ticks until cancelled, or one snapshot ending with tickSnapshotEnd."""
    r.skip()  # version
    req_id = r.integer()
    query = r.contract()
    _skip_combo_legs(query, r)
    if r.flag():  # deltaNeutralContract
        r.skip(3)
    r.text()  # genericTickList
    snapshot = r.flag()
    regulatory_snapshot = r.flag()
    resolved = session.gateway.universe.resolve(query)
    if resolved is None:
        session.error(req_id, *ERR_NO_SECURITY)
        return
    if req_id in session.market_data:
        session.error(req_id, 322, f"Error processing request.-'bX' : cause - Duplicate ticker id {req_id}")
        return
    inst = resolved[0]
    quote = session.gateway.market.quote(inst.con_id)
    messages = [msg.market_data_type(req_id, session.market_data_type)]
    messages += snapshot_messages(req_id, inst, quote)
    if snapshot or regulatory_snapshot:
        messages.append(msg.tick_snapshot_end(req_id))
    else:
        sub = MarketDataSub(req_id, inst)
        sub.prime(quote)
        session.market_data[req_id] = sub
    session.send_many(messages)


def cancel_mkt_data(session, r) -> None:
    r.skip()
    req_id = r.integer()
    if session.market_data.pop(req_id, None) is None:
        session.error(req_id, 300, f"Can't find EId with tickerId:{req_id}")


def req_contract_details(session, r) -> None:
    """contractDetails for every listing the contract can mean; nothing found is error 200."""
    r.skip()  # version
    req_id = r.integer()
    matches = session.gateway.universe.match(r.contract())
    if not matches:
        session.error(req_id, *ERR_NO_SECURITY)
        return
    for inst, exchange in matches:
        session.send_raw(msg.contract_details(req_id, inst, exchange, session.server_version))
    session.send_raw(msg.contract_details_end(req_id))


def req_historical_data(session, r) -> None:
    """Historical bars (or a trading schedule), optionally kept up to date."""
    req_id = r.integer()
    query = r.contract()
    r.flag()  # includeExpired
    end_text, bar_size, duration = r.text(), r.text(), r.text()
    use_rth, what_to_show, format_date = r.integer() != 0, r.text().upper(), r.integer(1)
    _skip_combo_legs(query, r)
    keep_up_to_date = r.flag()
    gateway = session.gateway
    if gateway.faults.take_pacing_violation():
        session.error(req_id, 162, MSG_PACING)
        return
    resolved = gateway.universe.resolve(query)
    if resolved is None:
        session.error(req_id, *ERR_NO_SECURITY)
        return
    request = HistoryRequest(bar_size, duration, use_rth, what_to_show, format_date)
    try:
        _send_history(session, req_id, resolved[0], request, end_text, keep_up_to_date)
    except history.HistoryError as exc:
        session.error(req_id, exc.code, str(exc))


def _send_history(
    session, req_id, inst, request: HistoryRequest, end_text: str, keep_up_to_date: bool
) -> None:
    if keep_up_to_date and end_text:
        raise history.HistoryError(321, MSG_UPDATE_WITH_END)
    now = session.gateway.now()
    end = history.parse_end(end_text, now)
    span = history.parse_duration(request.duration)
    if request.what_to_show == "SCHEDULE":
        session.send_raw(_schedule(req_id, inst, end, span, request.use_rth))
        return
    history.validate(inst, request.bar_size, request.what_to_show)
    if history.BAR_SECONDS[request.bar_size] < history.DAY:
        times = history.intraday_bar_times(
            inst, end, span, history.BAR_SECONDS[request.bar_size], request.use_rth
        )
    else:
        times = history.daily_bar_dates(end, span, request.bar_size)
    if not times:
        raise history.HistoryError(162, MSG_NO_DATA)
    gateway = session.gateway
    live = quote_price(gateway.market.quote(inst.con_id), request.what_to_show)
    bars = history.make_bars(
        inst, gateway.seed, live, times, request.bar_size, request.use_rth, request.what_to_show
    )
    start_text = history.format_bar_time(times[0], 1)
    end_text = history.format_bar_time(end, 1)
    session.send_raw(msg.historical_data(req_id, start_text, end_text, bars, request.format_date))
    if keep_up_to_date:
        session.live_bars[req_id] = LiveBarsSub(req_id, inst, request, bars[-1])


def _schedule(req_id: int, inst, end: dt.datetime, span, use_rth: bool) -> bytes:
    """historicalSchedule: the sessions of the requested days (whatToShow=SCHEDULE)."""
    days = history.daily_bar_dates(end, span, "1 day")
    sessions = [history.session_bounds(inst, day, use_rth) for day in days]
    fields: list = [Out.HISTORICAL_SCHEDULE, req_id]
    stamp = "%Y%m%d-%H:%M:%S"
    first = sessions[0][0].strftime(stamp) if sessions else ""
    last = sessions[-1][1].strftime(stamp) if sessions else ""
    fields += [first, last, "US/Eastern", len(sessions)]
    for day, (opens, closes) in zip(days, sessions, strict=True):
        fields += [opens.strftime(stamp), closes.strftime(stamp), day.strftime("%Y%m%d")]
    return encode(*fields)


def cancel_historical_data(session, r) -> None:
    r.skip()
    session.live_bars.pop(r.integer(), None)


def req_real_time_bars(session, r) -> None:
    """reqRealTimeBars: a bar every ``realtime_bar_seconds`` (5 at IB) until cancelled."""
    r.skip()  # version
    req_id = r.integer()
    resolved = session.gateway.universe.resolve(r.contract())
    r.integer()  # barSize: IB only supports 5 seconds
    what_to_show = r.text().upper()
    if resolved is None:
        session.error(req_id, *ERR_NO_SECURITY)
        return
    inst = resolved[0]
    price = quote_price(session.gateway.market.quote(inst.con_id), what_to_show)
    session.realtime_bars[req_id] = RealtimeBarsSub(req_id, inst, what_to_show, price)


def cancel_real_time_bars(session, r) -> None:
    r.skip()
    session.realtime_bars.pop(r.integer(), None)


def req_head_timestamp(session, r) -> None:
    """The earliest bar available: the instrument's first day of history (its listing, where known)."""
    req_id = r.integer()
    resolved = session.gateway.universe.resolve(r.contract())
    if resolved is None:
        session.error(req_id, *ERR_NO_SECURITY)
        return
    r.flag()
    use_rth = r.integer() != 0
    r.text()
    format_date = r.integer(1)
    first = history.first_bar_time(resolved[0], use_rth)
    stamp = str(int(first.timestamp())) if format_date == 2 else first.strftime("%Y%m%d-%H:%M:%S")
    session.send_raw(msg.head_timestamp(req_id, stamp))


def cancel_head_timestamp(session, r) -> None:
    pass


def req_matching_symbols(session, r) -> None:
    req_id = r.integer()
    pattern = r.text().upper().strip()
    ranked = []
    for inst in session.gateway.universe.instruments:
        if inst.sec_type in ("FUT", "OPT"):
            continue
        local = inst.local_symbol.replace(".", "")
        if pattern in (inst.symbol, local):
            rank = 0
        elif inst.symbol.startswith(pattern) or local.startswith(pattern):
            rank = 1
        elif pattern and pattern in inst.long_name.upper():
            rank = 2
        else:
            continue
        ranked.append((rank, len(inst.symbol), inst.symbol, inst))
    found = [inst for *_, inst in sorted(ranked, key=lambda row: row[:3])]
    session.send_raw(msg.symbol_samples(req_id, found[:16], session.server_version))


def req_market_rule(session, r) -> None:
    session.send_raw(msg.market_rule(r.integer()))
