"""Live subscriptions of one client: streaming ticks, bars kept up to date, real-time bars.

The tick path is the hot path of the gateway (the benchmark pushes tens of thousands of ticks per
second through it), so a market-data subscription pre-encodes the fixed start of each tick message
once and only the price/size tail is formatted per quote, once per instrument per step.
"""

from __future__ import annotations

import datetime as dt

from trading.ibsim.contracts import Instrument
from trading.ibsim.history import Bar, bar_start_for
from trading.ibsim.market import Quote, round_to_tick
from trading.ibsim.messages import market as msg
from trading.ibsim.messages import reference as msg_ref

BID_OPTION, ASK_OPTION, LAST_OPTION, MODEL_OPTION = 10, 11, 12, 13


class QuoteTails:
    """Encoded price/size tails of one quote, shared by every subscription to the instrument."""

    __slots__ = ("bid", "ask", "last", "volume")

    def __init__(self, quote: Quote) -> None:
        self.bid = msg.price_tail(quote.bid, quote.bid_size)
        self.ask = msg.price_tail(quote.ask, quote.ask_size)
        self.last = msg.price_tail(quote.last, quote.last_size) if quote.last is not None else None
        self.volume = msg.size_tail(quote.volume) if quote.last is not None else None


class MarketDataSub:
    """A streaming reqMktData subscription: sends bid, ask, last and volume when they change."""

    __slots__ = ("req_id", "inst", "_prefixes", "_sent")

    def __init__(self, req_id: int, inst: Instrument) -> None:
        self.req_id = req_id
        self.inst = inst
        self._prefixes = (
            msg.tick_price_prefix(req_id, msg.BID),
            msg.tick_price_prefix(req_id, msg.ASK),
            msg.tick_price_prefix(req_id, msg.LAST),
            msg.tick_size_prefix(req_id, msg.VOLUME),
        )
        self._sent: tuple = (None, None, None, None)

    def changes(self, quote: Quote, tails: QuoteTails, out: list[bytes]) -> None:
        """Append framed ticks for whatever moved since the last push."""
        sent = self._sent
        bid_prefix, ask_prefix, last_prefix, volume_prefix = self._prefixes
        if quote.bid != sent[0] or quote.bid_size != sent[1]:
            out.append(msg.framed(bid_prefix, tails.bid))
        if quote.ask != sent[2]:
            out.append(msg.framed(ask_prefix, tails.ask))
        if tails.last is not None and quote.updated_at != sent[3]:
            out.append(msg.framed(last_prefix, tails.last))
            out.append(msg.framed(volume_prefix, tails.volume))
            if quote.greeks is not None:
                out += option_computations(self.req_id, quote)
        self.prime(quote)

    def prime(self, quote: Quote) -> None:
        """Remember ``quote`` as already sent (it went out with the subscription's first ticks)."""
        self._sent = (quote.bid, quote.bid_size, quote.ask, quote.updated_at)


def snapshot_messages(req_id: int, inst: Instrument, quote: Quote) -> list[bytes]:
    """Every tick a fresh subscription or a snapshot starts with."""
    out = [
        msg.tick_req_params(req_id, inst),
        msg.framed(msg.tick_price_prefix(req_id, msg.BID), msg.price_tail(quote.bid, quote.bid_size)),
        msg.framed(msg.tick_price_prefix(req_id, msg.ASK), msg.price_tail(quote.ask, quote.ask_size)),
    ]
    if quote.last is not None:
        out.append(msg.framed(msg.tick_price_prefix(req_id, msg.LAST), msg.price_tail(quote.last, quote.last_size)))
        out.append(msg.framed(msg.tick_size_prefix(req_id, msg.VOLUME), msg.size_tail(quote.volume)))
        out.append(msg.tick_string(req_id, msg.LAST_TIMESTAMP, str(int(quote.updated_at))))
    for tick_type, price in ((msg.HIGH, quote.high), (msg.LOW, quote.low), (msg.CLOSE, quote.close),
                             (msg.OPEN, quote.open)):  # fmt: skip
        out.append(msg.framed(msg.tick_price_prefix(req_id, tick_type), msg.price_tail(price, 0.0)))
    out.append(msg.tick_generic(req_id, msg.HALTED, 0.0))
    if quote.greeks is not None:
        out += option_computations(req_id, quote)
    return out


def option_computations(req_id: int, quote: Quote) -> list[bytes]:
    """tickOptionComputation for the bid, ask, last (each at its own implied volatility) and model."""
    greeks = quote.greeks
    out = []
    for tick_type, price in ((BID_OPTION, quote.bid), (ASK_OPTION, quote.ask), (LAST_OPTION, quote.last)):
        values = list(greeks.fields())
        values[2] = price
        vol = implied_vol_near(greeks, price)
        values[0] = vol if vol is not None else -1.0  # IB sends "not computed" as -1
        out.append(msg_ref.option_computation(req_id, tick_type, tuple(values)))
    out.append(msg_ref.option_computation(req_id, MODEL_OPTION, greeks.fields()))
    return out


def implied_vol_near(greeks, price: float) -> float | None:
    """The implied volatility at ``price``, close to the model's: one Newton step on the model's vega."""
    if price <= 0 or greeks.vega <= 0:
        return None
    vol = greeks.implied_vol + (price - greeks.price) / (greeks.vega * 100.0)
    return vol if vol > 0 else None


def quote_price(quote: Quote, what_to_show: str) -> float:
    """The price a bar series tracks: bid or ask for those, else the mark."""
    if what_to_show == "BID":
        return quote.bid
    if what_to_show == "ASK":
        return quote.ask
    return quote.price


class LiveBarsSub:
    """reqHistoricalData with keepUpToDate: the forming bar is re-sent whenever it changes, and a new
    bar starts when the clock crosses into the next bar period of the session."""

    def __init__(self, req_id: int, inst: Instrument, request, last_bar: Bar) -> None:
        self.req_id = req_id
        self.inst = inst
        self.bar_size = request.bar_size
        self.use_rth = request.use_rth
        self.what_to_show = request.what_to_show
        self.format_date = request.format_date
        self.bar = last_bar

    def update(self, quote: Quote, now: dt.datetime) -> bytes | None:
        """Fold a new quote into the forming bar; the update message, or None if nothing changed."""
        price = quote_price(quote, self.what_to_show)
        start = bar_start_for(self.inst, self.bar_size, self.use_rth, now, self.bar.time)
        bar = self.bar
        new_bar = start > bar.time
        if new_bar:
            bar = self.bar = _next_bar(bar, start)
        if not new_bar and price == bar.close:
            return None
        bar.close, bar.high, bar.low = price, max(bar.high, price), min(bar.low, price)
        if bar.volume >= 0 and quote.last_size:
            bar.volume += quote.last_size
            bar.count += 1
            bar.wap = round((bar.high + bar.low + bar.close) / 3, 4)
        return msg.historical_data_update(self.req_id, bar, self.format_date)


def _next_bar(previous: Bar, start) -> Bar:
    """A new bar opening at the previous close (volume -1 stays -1 for non-TRADES data)."""
    price = previous.close
    has_volume = previous.volume >= 0
    return Bar(start, price, price, price, price, 0.0 if has_volume else -1.0, price if has_volume else -1.0,
               0 if has_volume else -1)  # fmt: skip


class RealtimeBarsSub:
    """reqRealTimeBars: one bar per window (5 seconds at IB) built from the ticks seen in it."""

    def __init__(self, req_id: int, inst: Instrument, what_to_show: str, price: float) -> None:
        self.req_id = req_id
        self.inst = inst
        self.what_to_show = what_to_show
        self._reset(price)

    def _reset(self, price: float) -> None:
        self.open = self.high = self.low = self.close = price
        self.volume = 0.0
        self.count = 0

    def update(self, quote: Quote) -> None:
        price = quote_price(quote, self.what_to_show)
        self.close, self.high, self.low = price, max(self.high, price), min(self.low, price)
        if quote.last_size:
            self.volume += quote.last_size
            self.count += 1

    def emit(self, window_start: int) -> bytes:
        wap = round((self.high + self.low + self.close) / 3, 6)
        bar = Bar(window_start, self.open, self.high, self.low, self.close, self.volume, wap, self.count)
        data = msg.realtime_bar(self.req_id, window_start, bar)
        self._reset(self.close)
        return data


class DepthSub:
    """reqMktDepth: ``rows`` price levels a tick apart on each side of the quote, sizes from the
    instrument's lot; the book is inserted once and then updated level by level when the quote moves."""

    def __init__(self, req_id: int, inst: Instrument, rows: int) -> None:
        self.req_id = req_id
        self.inst = inst
        self.rows = max(1, min(rows or 5, 10))
        self._sent: dict[tuple[int, int], tuple[float, float]] = {}

    def _levels(self, quote: Quote) -> list[tuple[int, int, float, float]]:
        tick = self.inst.min_tick
        lot = 1_000_000 if self.inst.is_fx else 100
        levels = []
        for position in range(self.rows):
            shape = (position * 7 + int(quote.updated_at)) % 5 + 1
            levels.append((position, 1, round_to_tick(quote.bid - position * tick, tick),
                           quote.bid_size if position == 0 else float(shape * lot)))  # fmt: skip
            levels.append((position, 0, round_to_tick(quote.ask + position * tick, tick),
                           quote.ask_size if position == 0 else float((6 - shape) * lot)))  # fmt: skip
        return levels

    def messages(self, quote: Quote) -> list[bytes]:
        """Insert messages the first time, then updates for the levels that changed."""
        out = []
        for position, side, price, size in self._levels(quote):
            previous = self._sent.get((position, side))
            if previous == (price, size):
                continue
            operation = 0 if previous is None else 1
            self._sent[(position, side)] = (price, size)
            out.append(msg_ref.update_mkt_depth(self.req_id, position, operation, side, price, size))
        return out


class TickByTickSub:
    """reqTickByTickData: Last/AllLast (1/2, not for FX), BidAsk (3) or MidPoint (4) on every change."""

    KINDS = {"LAST": 1, "ALLLAST": 2, "BIDASK": 3, "MIDPOINT": 4}

    def __init__(self, req_id: int, inst: Instrument, kind: int) -> None:
        self.req_id = req_id
        self.inst = inst
        self.kind = kind
        self._sent: tuple | None = None

    def message(self, quote: Quote) -> bytes | None:
        stamp = int(quote.updated_at)
        if self.kind in (1, 2):
            if quote.last is None or self._sent == quote.updated_at:
                return None
            self._sent = quote.updated_at
            return msg_ref.tick_by_tick_last(self.req_id, self.kind, stamp, quote.last, quote.last_size, self.inst.venue(""))
        if self.kind == 3:
            key = (quote.bid, quote.ask, quote.bid_size, quote.ask_size)
            if key == self._sent:
                return None
            self._sent = key
            return msg_ref.tick_by_tick_bid_ask(self.req_id, stamp, *key)
        midpoint = round((quote.bid + quote.ask) / 2, 8)
        if midpoint == self._sent:
            return None
        self._sent = midpoint
        return msg_ref.tick_by_tick_midpoint(self.req_id, stamp, midpoint)
