"""Deterministic sample bars (a seeded random walk), for trying a backtest without IB data, the docs'
worked example, the tests and the benchmarks. They are not market data: never trade on them."""

from __future__ import annotations

import datetime as dt
import math
import random
import zlib

from trading.backtest.bars import BAR_SECONDS, NEW_YORK, SESSION_OPEN

ANNUAL_VOLATILITY = {"VIXY": 0.9}  # others: 0.2
START_PRICE = {"SPY": 400.0, "VIXY": 20.0}


def sample_bars(*, symbol: str, bar_size: str, first: dt.date, last: dt.date, seed: int = 1) -> list[dict]:
    """Rows (date, open, high, low, close, volume) for every weekday session in [first, last]."""
    rng = random.Random(zlib.crc32(f"{seed}:{symbol}:{bar_size}".encode()))
    seconds = BAR_SECONDS[bar_size]
    per_day = 1 if seconds >= 86400 else int(6.5 * 3600 // seconds)
    sigma = ANNUAL_VOLATILITY.get(symbol, 0.2) / math.sqrt(252 * per_day)
    drift = (-0.5 if symbol == "VIXY" else 0.08) / (252 * per_day)
    price, rows, day = START_PRICE.get(symbol, 100.0), [], first
    while day <= last:
        if day.weekday() < 5:
            opened = dt.datetime.combine(day, SESSION_OPEN, NEW_YORK)
            for i in range(per_day):
                open_ = price * math.exp(rng.gauss(0, sigma / 4))
                close = open_ * math.exp(drift + rng.gauss(0, sigma))
                high = max(open_, close) * math.exp(abs(rng.gauss(0, sigma / 2)))
                low = min(open_, close) * math.exp(-abs(rng.gauss(0, sigma / 2)))
                when = day if per_day == 1 else opened + dt.timedelta(seconds=i * seconds)
                rows.append(
                    {"date": when, "open": round(open_, 2), "high": round(high, 2), "low": round(low, 2),
                     "close": round(close, 2), "volume": float(rng.randint(1_000, 100_000))}
                )  # fmt: skip
                price = close
        day += dt.timedelta(days=1)
    return rows
