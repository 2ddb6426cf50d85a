"""Indicator math for the strategy intents, in plain Python (a few hundred closes need no pandas).

EMAs follow pandas' `ewm(span=n, adjust=False)`: the first value seeds the average, then
`ema[t] = ema[t-1] + alpha * (x[t] - ema[t-1])` with `alpha = 2 / (n + 1)` — the convention the seed
used, so signals match what the seed's traders saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BULLISH = "bullish"
BEARISH = "bearish"
NEUTRAL = "neutral"
TOO_FEW = "MACD({fast},{slow},{signal}) needs at least {needed} closes, got {got}"


def ema(values: Sequence[float], span: int) -> list[float]:
    if span < 1:
        raise ValueError(f"span must be at least 1, got {span}")
    if not values:
        return []
    alpha = 2.0 / (span + 1)
    out = [float(values[0])]
    for value in values[1:]:
        out.append(out[-1] + alpha * (float(value) - out[-1]))
    return out


@dataclass(frozen=True)
class Macd:
    macd: list[float]
    signal: list[float]

    @property
    def histogram(self) -> list[float]:
        return [m - s for m, s in zip(self.macd, self.signal, strict=True)]

    def last(self) -> dict:
        """The last bar's values (and the bar before), for a target's metadata."""
        return {
            "macd": self.macd[-1],
            "signal": self.signal[-1],
            "histogram": self.macd[-1] - self.signal[-1],
            "previous_macd": self.macd[-2] if len(self.macd) > 1 else None,
            "previous_signal": self.signal[-2] if len(self.signal) > 1 else None,
        }


def macd(closes: Sequence[float], fast: int = 12, slow: int = 26, signal: int = 9) -> Macd:
    """MACD line (fast EMA − slow EMA) and its signal line (EMA of the MACD line)."""
    needed = slow + signal
    if len(closes) < needed:
        raise ValueError(TOO_FEW.format(fast=fast, slow=slow, signal=signal, needed=needed, got=len(closes)))
    fast_ema, slow_ema = ema(closes, fast), ema(closes, slow)
    line = [f - s for f, s in zip(fast_ema, slow_ema, strict=True)]
    return Macd(macd=line, signal=ema(line, signal))


def level_signal(result: Macd) -> int:
    """+1 while the MACD line is above its signal line, −1 below, 0 when they are equal (last bar)."""
    difference = result.macd[-1] - result.signal[-1]
    return (difference > 0) - (difference < 0)


def crossover(result: Macd) -> str:
    """`bullish` when the MACD line crosses above its signal on the last bar, `bearish` below, else `neutral`."""
    if len(result.macd) < 2:
        return NEUTRAL
    before = result.macd[-2] - result.signal[-2]
    now = result.macd[-1] - result.signal[-1]
    if before <= 0 < now:
        return BULLISH
    if before >= 0 > now:
        return BEARISH
    return NEUTRAL
