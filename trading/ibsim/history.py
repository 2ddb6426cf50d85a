"""Historical bars: deterministic per symbol and seed, ending at the live price.

The shape of the history is fixed by the seed: each bar's log-return comes from a
``random.Random`` keyed by (seed, conId, bar size, block), where a block is a day for intraday bars
and a year for daily and longer bars, so the same bar timestamp always gets the same return. The
level is anchored at the request time: the last bar closes at the current live price and the
closes before it are walked backwards through those returns. Two requests therefore agree on
every bar's return and differ only by the live price they are anchored to.

Sessions follow IB for US listings: regular hours 09:30-16:00 New York with ``useRTH=1``,
04:00-20:00 without; FX trades around the clock on weekdays. Holidays and early closes exist only with an exchange
calendar (``--calendar XNYS``, see :mod:`trading.ibsim.sessions`). D/W/M/Y
durations count trading days back from the last session that had started (so "1 D" before the
open is yesterday); S counts session time. The simulator's live market never closes, so a request
made outside the session ends at the last session bar, whose close is still the live price.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from trading.ibsim import sessions
from trading.ibsim.contracts import Instrument
from trading.ibsim.market import round_to_tick

NEW_YORK = ZoneInfo("America/New_York")
DAY = 86400
MAX_BARS = 100_000

BAR_SECONDS = {
    "1 secs": 1, "5 secs": 5, "10 secs": 10, "15 secs": 15, "30 secs": 30,
    "1 min": 60, "2 mins": 120, "3 mins": 180, "5 mins": 300, "10 mins": 600, "15 mins": 900,
    "20 mins": 1200, "30 mins": 1800, "1 hour": 3600, "2 hours": 7200, "3 hours": 10800,
    "4 hours": 14400, "8 hours": 28800, "1 day": DAY, "1 week": 7 * DAY, "1 month": 30 * DAY,
}  # fmt: skip
PRICE_KINDS = {"TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST"}
BUSINESS_DAYS_PER_UNIT = {"D": 1, "W": 5, "M": 21, "Y": 252}


class HistoryError(ValueError):
    """A request IB would refuse; ``code`` is the IB error code to send (162 or 321)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Bar:
    time: dt.datetime | dt.date
    open: float
    high: float
    low: float
    close: float
    volume: float
    wap: float
    count: int


def parse_duration(text: str) -> tuple[int, str]:
    """``"5 D"`` -> ``(5, "D")``; units S, D, W, M, Y as in IB's durationStr."""
    parts = text.split()
    if len(parts) != 2 or not parts[0].isdigit() or parts[1].upper() not in ("S", "D", "W", "M", "Y"):
        raise HistoryError(321, f"Error validating request.-'bP' : cause - Invalid duration {text!r}")
    return int(parts[0]), parts[1].upper()


def parse_end(text: str, now: dt.datetime) -> dt.datetime:
    """Parse IB's endDateTime: empty (now), ``yyyymmdd hh:mm:ss [tz]``, ``yyyymmdd-hh:mm:ss`` (UTC)."""
    text = text.strip()
    if not text:
        return now
    try:
        if len(text) == 8:
            day = dt.datetime.strptime(text, "%Y%m%d")
            return day.replace(hour=23, minute=59, second=59, tzinfo=NEW_YORK)
        if "-" in text[:9]:
            return dt.datetime.strptime(text, "%Y%m%d-%H:%M:%S").replace(tzinfo=dt.UTC)
        date_part, time_part, *zone = text.split()
        tz = ZoneInfo(zone[0]) if zone else NEW_YORK
        return dt.datetime.strptime(date_part + time_part, "%Y%m%d%H:%M:%S").replace(tzinfo=tz)
    except (ValueError, KeyError) as exc:
        raise HistoryError(321, f"Error validating request.-'bP' : cause - bad end time {text!r}") from exc


def session_bounds(inst: Instrument, day: dt.date, use_rth: bool) -> tuple[dt.datetime, dt.datetime] | None:
    """The trading session of one calendar day in New York time, None on weekends (and, with an
    exchange calendar in force, on holidays; early closes end early)."""
    calendar = sessions.active()
    if calendar is not None and not inst.is_fx:
        return calendar.bounds(day, use_rth)
    if day.weekday() >= 5:
        return None
    if inst.is_fx:
        start, end = dt.time(0, 0), None
    elif use_rth:
        start, end = dt.time(9, 30), dt.time(16, 0)
    else:
        start, end = dt.time(4, 0), dt.time(20, 0)
    opens = dt.datetime.combine(day, start, NEW_YORK)
    closes = (
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), NEW_YORK)
        if end is None
        else (dt.datetime.combine(day, end, NEW_YORK))
    )
    return opens, closes


def _business_days_back(day: dt.date, count: int) -> dt.date:
    """The business day ``count - 1`` business days before ``day`` (``day`` counts if it is one)."""
    while not is_business_day(day):
        day -= dt.timedelta(days=1)
    for _ in range(count - 1):
        day -= dt.timedelta(days=1)
        while not is_business_day(day):
            day -= dt.timedelta(days=1)
    return day


def is_business_day(day: dt.date) -> bool:
    """A weekday, or a session of the exchange calendar in force."""
    calendar = sessions.active()
    if calendar is not None:
        return calendar.is_trading_day(day)
    return day.weekday() < 5


def intraday_bar_times(
    inst: Instrument, end: dt.datetime, duration: tuple[int, str], bar_seconds: int, use_rth: bool
) -> list[dt.datetime]:
    """Start times of the intraday bars a request covers, oldest first.

    D/W/M/Y count business days back from the end; S counts session seconds, so "3600 S" asked at
    night or on a weekend is the last trading hour rather than nothing.
    """
    count, unit = duration
    end = end.astimezone(NEW_YORK)
    if unit == "S":
        wanted = max(1, math.ceil(count / bar_seconds))
        first_day = _business_days_back(end.date(), math.ceil(count / (6.5 * 3600)) + 1)
        return _session_bar_times(inst, first_day, end, bar_seconds, use_rth)[-wanted:]
    first_day = _business_days_back(
        _last_session_day(inst, end, use_rth), count * BUSINESS_DAYS_PER_UNIT[unit]
    )
    return _session_bar_times(inst, first_day, end, bar_seconds, use_rth)


def _last_session_day(inst: Instrument, end: dt.datetime, use_rth: bool) -> dt.date:
    """The day of the last session that had started by ``end`` ("1 D" before the open is yesterday)."""
    day = end.date()
    bounds = session_bounds(inst, day, use_rth)
    if bounds is None or end < bounds[0]:
        day = _business_days_back(day - dt.timedelta(days=1), 1)
    return day


def _session_bar_times(inst, first_day: dt.date, end: dt.datetime, bar_seconds: int, use_rth: bool):
    """Every bar start inside the sessions from ``first_day`` up to ``end``."""
    times: list[dt.datetime] = []
    step = dt.timedelta(seconds=bar_seconds)
    day = first_day
    while day <= end.date():
        bounds = session_bounds(inst, day, use_rth)
        bar, closes = bounds if bounds else (None, None)
        while bar is not None and bar < closes and bar <= end:
            times.append(bar)
            bar += step
        if len(times) > MAX_BARS:
            raise HistoryError(162, "Historical Market Data Service error message:Time length exceed max.")
        day += dt.timedelta(days=1)
    return times


def daily_bar_dates(end: dt.datetime, duration: tuple[int, str], bar_size: str) -> list[dt.date]:
    """Dates of daily, weekly or monthly bars, oldest first (weeks dated Monday, months the 1st)."""
    count, unit = duration
    days = math.ceil(count / DAY) if unit == "S" else count * BUSINESS_DAYS_PER_UNIT[unit]
    last = _business_days_back(end.astimezone(NEW_YORK).date(), 1)
    first = _business_days_back(last, max(days, 1))
    dates, day = [], first
    while day <= last:
        if is_business_day(day):
            dates.append(day)
        day += dt.timedelta(days=1)
    if bar_size == "1 week":
        dates = sorted({d - dt.timedelta(days=d.weekday()) for d in dates})
    elif bar_size == "1 month":
        dates = sorted({d.replace(day=1) for d in dates})
    return dates


def bar_volatility(inst: Instrument, bar_size: str) -> float:
    """Standard deviation of one bar's log-return."""
    seconds = BAR_SECONDS[bar_size]
    if seconds < DAY:
        return inst.annual_vol * math.sqrt(seconds / (252 * 6.5 * 3600))
    days = {"1 day": 1, "1 week": 5, "1 month": 21}[bar_size]
    return inst.annual_vol * math.sqrt(days / 252)


def make_bars(
    inst: Instrument,
    seed: int,
    live_price: float,
    times: list,
    bar_size: str,
    use_rth: bool,
    what_to_show: str,
) -> list[Bar]:
    """Build the bars for the given start times, the last one closing at ``live_price``."""
    if not times:
        return []
    sigma = bar_volatility(inst, bar_size)
    draws = [_draw_for(seed, inst, bar_size, use_rth, t) for t in times]
    closes = [0.0] * len(times)
    closes[-1] = live_price
    for i in range(len(times) - 1, 0, -1):
        closes[i - 1] = closes[i] / math.exp(sigma * draws[i][0])
    first_open = closes[0] / math.exp(sigma * draws[0][0])
    return [
        _make_bar(inst, t, closes[i - 1] if i else first_open, closes[i], draws[i], sigma, what_to_show)
        for i, t in enumerate(times)
    ]


# One generator per (seed, instrument, bar size, block), shared by every request in the process.
_GENERATORS: dict[str, tuple[random.Random, list[tuple[float, float, float]]]] = {}


def _draw_for(seed: int, inst: Instrument, bar_size: str, use_rth: bool, when) -> tuple[float, float, float]:
    """The (return, high-wick, low-wick) normals of the bar at ``when``, fixed by its timestamp."""
    if isinstance(when, dt.datetime):
        midnight = when.replace(hour=0, minute=0, second=0)
        index = int((when - midnight).total_seconds()) // BAR_SECONDS[bar_size]
        block = f"{int(use_rth)}:{when.date().isoformat()}"  # extended-hours bars differ from RTH ones
    else:
        block, index = str(when.year), when.timetuple().tm_yday
    key = f"{seed}:{inst.con_id}:{bar_size}:{block}"
    entry = _GENERATORS.get(key)
    if entry is None:
        if len(_GENERATORS) > 20_000:
            _GENERATORS.clear()
        entry = _GENERATORS[key] = (random.Random(key), [])
    generator, draws = entry
    while len(draws) <= index:
        draws.append((generator.gauss(0, 1), abs(generator.gauss(0, 1)), abs(generator.gauss(0, 1))))
    return draws[index]


def _make_bar(inst, when, open_, close, draw, sigma, what_to_show) -> Bar:
    tick = inst.min_tick
    high = max(open_, close) * math.exp(0.5 * sigma * draw[1])
    low = min(open_, close) * math.exp(-0.5 * sigma * draw[2])
    shift = {"BID": -tick, "ASK": tick}.get(what_to_show, 0.0)
    o, h, lo, c = (round_to_tick(p + shift, tick) for p in (open_, high, low, close))
    if what_to_show in ("TRADES", "ADJUSTED_LAST"):
        volume = float(int(1000 + 50_000 * draw[1]) * 100)
        return Bar(when, o, h, lo, c, volume, round((h + lo + c) / 3, 4), int(volume // 300))
    return Bar(when, o, h, lo, c, -1.0, -1.0, -1)


def first_bar_time(inst: Instrument, use_rth: bool) -> dt.datetime:
    """reqHeadTimeStamp: the first session's open on the instrument's first day of history."""
    day = dt.datetime.strptime(inst.since or "20040102", "%Y%m%d").date()
    bounds = session_bounds(inst, day, use_rth)
    while bounds is None:
        day += dt.timedelta(days=1)
        bounds = session_bounds(inst, day, use_rth)
    return bounds[0].astimezone(dt.UTC)


def format_bar_time(when, format_date: int) -> str:
    """IB's bar date: ``yyyymmdd`` for daily bars, else local time with zone, or epoch seconds."""
    if not isinstance(when, dt.datetime):
        return when.strftime("%Y%m%d")
    if format_date == 2:
        return str(int(when.timestamp()))
    return when.astimezone(NEW_YORK).strftime("%Y%m%d %H:%M:%S") + " US/Eastern"


def bar_start_for(inst: Instrument, bar_size: str, use_rth: bool, now: dt.datetime, last_start):
    """Start of the bar that ``now`` falls in, or ``last_start`` when ``now`` is outside the session."""
    seconds = BAR_SECONDS[bar_size]
    now = now.astimezone(NEW_YORK)
    if seconds >= DAY:
        today = now.date()
        if today.weekday() >= 5:
            return last_start
        if bar_size == "1 week":
            return today - dt.timedelta(days=today.weekday())
        return today.replace(day=1) if bar_size == "1 month" else today
    bounds = session_bounds(inst, now.date(), use_rth)
    if not bounds or not bounds[0] <= now < bounds[1]:
        return last_start
    offset = int((now - bounds[0]).total_seconds()) // seconds * seconds
    return bounds[0] + dt.timedelta(seconds=offset)


def validate(inst: Instrument, bar_size: str, what_to_show: str) -> None:
    """Refuse what IB refuses: unknown bar sizes, non-price data, TRADES for FX."""
    if bar_size not in BAR_SECONDS:
        raise HistoryError(321, f"Error validating request.-'bP' : cause - Invalid bar size {bar_size!r}")
    if what_to_show not in PRICE_KINDS:
        raise HistoryError(
            321, f"Error validating request.-'bP' : cause - unsupported whatToShow {what_to_show}"
        )
    if inst.is_fx and what_to_show in ("TRADES", "ADJUSTED_LAST"):
        # IB has no trade prints for IDEALPRO pairs: use MIDPOINT, BID or ASK.
        raise HistoryError(
            162,
            f"Historical Market Data Service error message:No historical market data for "
            f"{inst.symbol}/CASH@FXSUB Last {BAR_SECONDS[bar_size]}",
        )
