"""`fetch_bars`: fetch historical bars from IB into the backtest store (trading/backtest/bars.py).

Only what the store lacks is asked for: the weekdays in [start, end] with no bar, in runs of two or
more (a lone missing weekday is a market holiday), and intraday days with under half the usual bars
(`session_gaps` in trading/backtest/bars.py). Each run is fetched backwards from its last day in
chunks IB accepts for the bar size; every request goes through `ctx.history`, so IB's pacing
violations (162) are waited out as for any strategy (PACING_BACKOFF in trading/intents/strategy.py),
and a pause of PACE_SECONDS between requests keeps clear of IB's 60-requests-in-10-minutes rule.
After the pass, the holes still there are asked for once more; what is still missing is reported.
Days after today are never asked for. Runs on the IB worker like every intent; backtests never do.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from pydantic import Field

from trading.backtest.bars import BAR_SECONDS, NEW_YORK, bars_missing, bars_store
from trading.iblib import Contract
from trading.intents.base import Intent, IntentParams
from trading.intents.context import IntentError
from trading.intents.registry import intent_register

WHAT_TO_SHOW = ("TRADES", "MIDPOINT", "BID", "ASK", "ADJUSTED_LAST")
# Sessions per request, within what IB serves for the bar size.
CHUNK_SESSIONS = {86400: 250, 3600: 20, 1800: 20, 900: 10, 600: 5, 300: 5, 60: 1}
PACE_SECONDS = 1.0
BAD_RANGE = "end {end} is before start {start}"


@intent_register
class FetchBars(Intent):
    name = "fetch_bars"
    description = "Fetch historical bars from IB into the backtest store: only what is missing; holes are asked again."
    places_orders = False
    # Within the q2 cluster's retry (660 s) once the start window and the task's margin are added.
    timeout = 540.0

    class Params(IntentParams):
        symbol: str
        start: dt.date
        end: dt.date
        bar_size: str = Field("1 day", alias="barSize", description="IB's barSizeSetting.")
        what_to_show: str = Field("TRADES", alias="whatToShow")
        sec_type: str = Field("STK", alias="secType")
        exchange: str = "SMART"
        currency: str = "USD"

    @classmethod
    def check(cls, params) -> list[dict]:
        errors = []
        if params.bar_size not in BAR_SECONDS:
            errors.append({"loc": ["barSize"], "msg": f"one of: {', '.join(BAR_SECONDS)}", "type": "bar_size"})
        if params.what_to_show not in WHAT_TO_SHOW:
            errors.append({"loc": ["whatToShow"], "msg": f"one of: {', '.join(WHAT_TO_SHOW)}", "type": "what_to_show"})
        if params.end < params.start:
            errors.append({"loc": ["end"], "msg": BAD_RANGE.format(start=params.start, end=params.end), "type": "range"})
        return errors

    async def run(self, ctx, params):
        contract = Contract(symbol=params.symbol, secType=params.sec_type, exchange=params.exchange, currency=params.currency)
        await ctx.qualify(contract)
        last = min(params.end, dt.datetime.now(NEW_YORK).date())
        key = {"symbol": params.symbol, "bar_size": params.bar_size, "what_to_show": params.what_to_show}
        stored = requests = 0
        for attempt in (1, 2):  # the second pass asks again for holes the first left
            holes = await ctx.db(bars_missing, **key, first=params.start, last=last)
            if not holes:
                break
            for first, hole_last in holes:
                got, asked = await _fetch_range(ctx, contract, params, first, hole_last)
                stored, requests = stored + got, requests + asked
            await ctx.log(f"{params.symbol} {params.bar_size}: pass {attempt}, {len(holes)} hole(s), {stored} bar(s) stored")
        left = await ctx.db(bars_missing, **key, first=params.start, last=last)
        return {
            **key,
            "start": params.start.isoformat(),
            "end": last.isoformat(),
            "stored": stored,
            "requests": requests,
            "still_missing": [[a.isoformat(), b.isoformat()] for a, b in left],
        }


async def _fetch_range(ctx, contract, params, first: dt.date, last: dt.date) -> tuple[int, int]:
    """(bars stored, requests made) for [first, last], newest chunk first."""
    chunk = CHUNK_SESSIONS.get(BAR_SECONDS[params.bar_size], 1)
    cursor, stored, requests = last, 0, 0
    while cursor >= first:
        sessions = min(chunk, _weekdays(first, cursor))
        if requests:
            await asyncio.sleep(PACE_SECONDS)
        requests += 1
        try:
            bars = await ctx.history(
                contract, duration=f"{max(sessions, 1)} D", bar_size=params.bar_size,
                end=f"{cursor:%Y%m%d} 23:59:59 US/Eastern", what_to_show=params.what_to_show,
            )  # fmt: skip
        except IntentError as exc:
            await ctx.log(f"{params.symbol} {params.bar_size} up to {cursor}: {exc}; the rest of this range is left")
            break
        rows = [_row(bar) for bar in bars]
        rows = [row for row in rows if first <= _session(row["date"]) <= last]
        if rows:
            stored += await ctx.db(
                bars_store, symbol=params.symbol, bar_size=params.bar_size, what_to_show=params.what_to_show, rows=rows,
                source="ib",
            )  # fmt: skip
        earliest = min((_session(bar.date) for bar in bars), default=cursor)
        cursor = min(earliest, cursor) - dt.timedelta(days=1)
    return stored, requests


def _row(bar) -> dict:
    return {"date": bar.date, "open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close, "volume": bar.volume}


def _session(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=NEW_YORK)).astimezone(NEW_YORK).date()
    return value


def _weekdays(first: dt.date, last: dt.date) -> int:
    days = (last - first).days + 1
    return sum(1 for i in range(days) if (first + dt.timedelta(days=i)).weekday() < 5)
