"""Secondary data requests: market depth, tick-by-tick, historical ticks, histograms, scanners, news,
fundamentals, option parameters and computations, WSH and FA.

Every request here gets an answer both ib_insync and ib_async end the request on: data where the
gateway can make plausible data, otherwise the empty answer or the error IB sends when the feature
is not available to a paper account (430 fundamentals, 10276 news/WSH). Error 321 is avoided for
requests that have a request id: ib_async 2.x treats it as a warning and would wait forever.
"""

from __future__ import annotations

import datetime as dt
import math
import random

from trading.ibsim import history, options
from trading.ibsim.handlers.market import ERR_NO_SECURITY
from trading.ibsim.market import round_to_tick
from trading.ibsim.messages import reference as msg
from trading.ibsim.protocol import In
from trading.ibsim.subscriptions import DepthSub, TickByTickSub

MAX_HISTORICAL_TICKS = 1000
CUSTOM_OPTION_COMPUTATION = 53  # the tick type of calculateImpliedVolatility / calculateOptionPrice
ERR_FUNDAMENTALS = (
    430,
    "We are sorry, but fundamentals data for the security specified is not available.Not allowed",
)
ERR_NEWS_NOT_ALLOWED = (10276, "News feed is not allowed.")
ERR_FA_NOT_ALLOWED = (321, "Error validating request.-'bE' : cause - FA data operations ignored for non FA customers.")
FA_NO_REQ_ID = -1


# --- market depth -------------------------------------------------------------------------------


def req_mkt_depth_exchanges(session, r) -> None:
    session.send_raw(msg.mkt_depth_exchanges())


def req_mkt_depth(session, r) -> None:
    r.skip()  # version
    req_id = r.integer()
    resolved = session.gateway.universe.resolve(r.contract())
    rows = r.integer(5)
    if resolved is None:
        session.error(req_id, *ERR_NO_SECURITY)
        return
    inst = resolved[0]
    sub = DepthSub(req_id, inst, rows)
    session.depth[req_id] = sub
    session.send_many(sub.messages(session.gateway.market.quote(inst.con_id)))


def cancel_mkt_depth(session, r) -> None:
    r.skip()
    session.depth.pop(r.integer(), None)


def req_smart_components(session, r) -> None:
    session.send_raw(msg.smart_components(r.integer()))


# --- tick-by-tick and historical ticks ----------------------------------------------------------


def req_tick_by_tick(session, r) -> None:
    req_id = r.integer()
    resolved = session.gateway.universe.resolve(r.contract())
    kind_name = r.text().upper()
    if resolved is None:
        session.error(req_id, *ERR_NO_SECURITY)
        return
    kind = TickByTickSub.KINDS.get(kind_name)
    if kind is None:
        session.error(req_id, 10189, f"Failed to request tick-by-tick data:Unknown tick type {kind_name}")
        return
    inst = resolved[0]
    sub = TickByTickSub(req_id, inst, kind)
    session.tick_by_tick[req_id] = sub
    first = sub.message(session.gateway.market.quote(inst.con_id))
    if first is not None:
        session.send_raw(first)


def cancel_tick_by_tick(session, r) -> None:
    session.tick_by_tick.pop(r.integer(), None)


def req_historical_ticks(session, r) -> None:
    """Up to 1000 ticks a second apart, ending at the live quote (or starting at ``start``)."""
    req_id = r.integer()
    query = r.contract()
    r.flag()  # includeExpired
    start_text, end_text = r.text(), r.text()
    count = max(1, min(r.integer(MAX_HISTORICAL_TICKS), MAX_HISTORICAL_TICKS))
    what_to_show = r.text().upper()
    gateway = session.gateway
    resolved = gateway.universe.resolve(query)
    if resolved is None:
        session.error(req_id, *ERR_NO_SECURITY)
        return
    inst = resolved[0]
    try:
        kind = "MIDPOINT" if what_to_show == "MIDPOINT" else "BID_ASK" if what_to_show == "BID_ASK" else "TRADES"
        if what_to_show not in ("MIDPOINT", "BID_ASK", "TRADES"):
            raise history.HistoryError(10187, f"Failed to request historical ticks:unsupported whatToShow {what_to_show}")
        history.validate(inst, "1 secs", "TRADES" if kind == "TRADES" else "MIDPOINT")
        now = gateway.now()
        if end_text:
            last = min(history.parse_end(end_text, now), now)
        elif start_text:
            last = min(history.parse_end(start_text, now) + dt.timedelta(seconds=count - 1), now)
        else:
            raise history.HistoryError(
                10187, "Failed to request historical ticks:Exactly one of start and end times must be specified"
            )
    except history.HistoryError as exc:
        session.error(req_id, exc.code, str(exc))
        return
    quote = gateway.market.quote(inst.con_id)
    stamps, prices = _tick_walk(gateway.seed, inst, int(last.timestamp()), count, quote.price)
    tick = inst.min_tick
    if kind == "MIDPOINT":
        session.send_raw(msg.historical_ticks_midpoint(req_id, list(zip(stamps, prices, strict=True))))
    elif kind == "BID_ASK":
        rows = [(s, round_to_tick(p - tick, tick), round_to_tick(p + tick, tick), quote.bid_size, quote.ask_size)
                for s, p in zip(stamps, prices, strict=True)]  # fmt: skip
        session.send_raw(msg.historical_ticks_bid_ask(req_id, rows))
    else:
        venue = inst.venue("")
        rows = [(s, p, 100.0, venue) for s, p in zip(stamps, prices, strict=True)]
        session.send_raw(msg.historical_ticks_last(req_id, rows))


def _tick_walk(seed: int, inst, last_stamp: int, count: int, price: float) -> tuple[list[int], list[float]]:
    """A deterministic walk of ``count`` one-second prices ending at ``price`` at ``last_stamp``."""
    rng = random.Random(f"{seed}:{inst.con_id}:ticks:{last_stamp}")
    sigma = inst.annual_vol * math.sqrt(1 / (252 * 6.5 * 3600))
    prices = [price]
    for _ in range(count - 1):
        prices.append(prices[-1] / math.exp(sigma * rng.gauss(0, 1)))
    prices.reverse()
    stamps = [last_stamp - count + 1 + i for i in range(count)]
    return stamps, [round_to_tick(p, inst.min_tick) for p in prices]


def req_histogram_data(session, r) -> None:
    """A volume histogram around the live price: 21 one-percent-of-range buckets."""
    req_id = r.integer()
    resolved = session.gateway.universe.resolve(r.contract())
    if resolved is None:
        session.error(req_id, *ERR_NO_SECURITY)
        return
    inst = resolved[0]
    price = session.gateway.market.mark(inst.con_id)
    step = max(inst.min_tick, round_to_tick(price * 0.002, inst.min_tick))
    rng = random.Random(f"{session.gateway.seed}:{inst.con_id}:histogram")
    items = []
    for offset in range(-10, 11):
        weight = math.exp(-(offset**2) / 30) * (0.6 + 0.4 * rng.random())
        items.append((round_to_tick(price + offset * step, inst.min_tick), int(weight * 5000) + 1))
    session.send_raw(msg.histogram(req_id, items))


def cancel_histogram_data(session, r) -> None:
    pass


# --- scanners -----------------------------------------------------------------------------------


def req_scanner_parameters(session, r) -> None:
    session.send_raw(msg.scanner_parameters())


def req_scanner_subscription(session, r) -> None:
    """One scan over the stock universe (IB repeats it every ~30 s; here it is sent once)."""
    req_id = r.integer()
    rows = r.integer(50)
    if rows <= 0 or rows > 50:
        rows = 50
    r.text()  # instrument
    r.text()  # locationCode
    scan_code = r.text().upper()
    gateway = session.gateway
    stocks = [inst for inst in gateway.universe.instruments if inst.sec_type == "STK"]
    quotes = {inst.con_id: gateway.market.quote(inst.con_id) for inst in stocks}  # prices every stock from now on

    def change(inst) -> float:
        quote = quotes[inst.con_id]
        return (quote.price - quote.close) / quote.close if quote.close else 0.0

    keys = {
        "TOP_PERC_GAIN": lambda inst: -change(inst),
        "TOP_PERC_LOSE": change,
        "MOST_ACTIVE": lambda inst: -quotes[inst.con_id].volume,
        "HOT_BY_VOLUME": lambda inst: -quotes[inst.con_id].volume,
        "HIGH_LAST": lambda inst: -quotes[inst.con_id].price,
        "LOW_LAST": lambda inst: quotes[inst.con_id].price,
    }
    key = keys.get(scan_code)
    found = sorted(stocks, key=key)[:rows] if key else []
    session.send_raw(msg.scanner_data(req_id, found))


def cancel_scanner_subscription(session, r) -> None:
    pass


# --- fundamentals, news, WSH, FA ----------------------------------------------------------------


def req_fundamental_data(session, r) -> None:
    r.skip()  # version
    session.error(r.integer(), *ERR_FUNDAMENTALS)


def cancel_fundamental_data(session, r) -> None:
    pass


def req_news_providers(session, r) -> None:
    session.send_raw(msg.news_providers())


def req_news_article(session, r) -> None:
    session.error(r.integer(), *ERR_NEWS_NOT_ALLOWED)


def req_historical_news(session, r) -> None:
    """No headlines in the simulated world: the end marker straight away."""
    session.send_raw(msg.historical_news_end(r.integer()))


def req_wsh(session, r) -> None:
    session.error(r.integer(), *ERR_NEWS_NOT_ALLOWED)


def cancel_wsh(session, r) -> None:
    pass


def request_fa(session, r) -> None:
    session.error(FA_NO_REQ_ID, *ERR_FA_NOT_ALLOWED)


def req_soft_dollar_tiers(session, r) -> None:
    session.send_raw(msg.soft_dollar_tiers(r.integer()))


def req_family_codes(session, r) -> None:
    session.send_raw(msg.family_codes())


def ignore(session, r) -> None:
    """Requests with no answer at IB either (news bulletins: none are ever published here)."""


# --- options ------------------------------------------------------------------------------------


def req_sec_def_opt_params(session, r) -> None:
    """The option chains of an underlying, one row per exchange and trading class, then the end."""
    req_id = r.integer()
    symbol, _fut_fop_exchange, sec_type, con_id = r.text().upper(), r.text(), r.text().upper(), r.integer()
    universe = session.gateway.universe
    under = universe.get(con_id)
    if under is None or under.symbol != symbol:
        under = next((i for i in universe.instruments if i.symbol == symbol and i.sec_type == (sec_type or i.sec_type)),
                     None)  # fmt: skip
    messages = []
    if under is not None:
        for exchange, trading_class, days, strike_list in options.chains_for(universe.options, under.con_id):
            messages.append(msg.sec_def_opt_params(req_id, exchange, under.con_id, trading_class, "100", days,
                                                   strike_list))  # fmt: skip
    messages.append(msg.sec_def_opt_params_end(req_id))
    session.send_many(messages)


def req_calc_option(session, r) -> None:
    """calculateImpliedVolatility (54) / calculateOptionPrice (55): one model tickOptionComputation."""
    kind = int(r.fields[0])
    r.skip()  # version
    req_id = r.integer()
    resolved = session.gateway.universe.resolve(r.contract())
    given, spot = r.number(0.0), r.number(0.0)
    if resolved is None or not resolved[0].is_option:
        session.error(req_id, *ERR_NO_SECURITY)
        return
    inst = resolved[0]
    if spot <= 0:
        spot = session.gateway.market.mark(inst.under_con_id)
    if kind == In.REQ_CALC_IMPLIED_VOLAT:
        vol = options.implied_vol(inst.right, given, spot, inst.strike, options.years_to_expiry(inst))
        if vol is None:
            session.error(req_id, 10195, f"Implied volatility cannot be computed for option price {given}")
            return
    else:
        vol = given
    greeks = options.model(inst, spot, vol)
    session.send_raw(msg.option_computation(req_id, CUSTOM_OPTION_COMPUTATION, greeks.fields()))


def cancel_calc_option(session, r) -> None:
    pass
