"""Trading metrics: pure functions over plain lists of floats (the API and the backtests share them).

Definitions (P&L figures are net of commissions):

- win rate = wins / trades, where a win is a round trip with P&L > 0 and a loss one with P&L < 0 (a
  round trip at exactly 0 counts as a trade, neither win nor loss). None with no trades.
- average win = Σ winning P&L / wins; average loss = Σ losing P&L / losses (a negative number).
- max drawdown over an equity series e_0 … e_n, with running peak p_t = max(e_0 … e_t):
  amount = max_t (p_t − e_t); fraction = max_t (p_t − e_t) / p_t over the points where p_t > 0.
- daily returns from daily closing equity: r_t = e_t / e_{t−1} − 1 (days with e_{t−1} ≤ 0 are skipped).
- Sharpe = mean(r) / stdev(r) × √252, stdev the sample standard deviation (n − 1), risk-free rate 0.
  None with fewer than two returns or stdev 0.
- max drawdown duration = the most consecutive points after a peak spent below it (0 when never below).
- volatility (annualised) = stdev(r) × √252, the sample standard deviation; None with fewer than two returns.
- annualised return = (e_n / e_0)^(252 / n) − 1 over n daily returns; None when n = 0 or e_0 ≤ 0.
- Sortino = mean(r) / DD × √252, with the downside deviation DD = √(Σ min(r_t, 0)² / n) over all n
  returns (target 0). None with fewer than two returns or DD 0 (no losing day).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

TRADING_DAYS = 252


def win_rate(pnls: Sequence[float]) -> float | None:
    return sum(1 for p in pnls if p > 0) / len(pnls) if pnls else None


def average_win(pnls: Sequence[float]) -> float | None:
    wins = [p for p in pnls if p > 0]
    return sum(wins) / len(wins) if wins else None


def average_loss(pnls: Sequence[float]) -> float | None:
    losses = [p for p in pnls if p < 0]
    return sum(losses) / len(losses) if losses else None


def max_drawdown(equity: Sequence[float]) -> tuple[float, float | None]:
    """(amount, fraction) of the deepest fall from a running peak; (0, None) for an empty series."""
    amount, fraction, peak = 0.0, None, -math.inf
    for value in equity:
        peak = max(peak, value)
        amount = max(amount, peak - value)
        if peak > 0:
            fraction = max(fraction or 0.0, (peak - value) / peak)
    return amount, fraction


def drawdown_duration(equity: Sequence[float]) -> int:
    """The longest run of points spent below a running peak."""
    longest = run = 0
    peak = -math.inf
    for value in equity:
        if value >= peak:
            peak, run = value, 0
        else:
            run += 1
            longest = max(longest, run)
    return longest


def volatility(returns: Sequence[float]) -> float | None:
    n = len(returns)
    if n < 2:
        return None
    mean = sum(returns) / n
    return math.sqrt(sum((r - mean) ** 2 for r in returns) / (n - 1)) * math.sqrt(TRADING_DAYS)


def annualised_return(first: float, last: float, periods: int) -> float | None:
    if periods <= 0 or first <= 0 or last < 0:
        return None
    return (last / first) ** (TRADING_DAYS / periods) - 1


def daily_returns(closes: Sequence[float]) -> list[float]:
    return [b / a - 1 for a, b in zip(closes, closes[1:], strict=False) if a > 0]


def sharpe(returns: Sequence[float]) -> float | None:
    n = len(returns)
    if n < 2:
        return None
    mean = sum(returns) / n
    stdev = math.sqrt(sum((r - mean) ** 2 for r in returns) / (n - 1))
    return mean / stdev * math.sqrt(TRADING_DAYS) if stdev > 0 else None


def sortino(returns: Sequence[float]) -> float | None:
    n = len(returns)
    if n < 2:
        return None
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / n)
    return (sum(returns) / n) / downside * math.sqrt(TRADING_DAYS) if downside > 0 else None


def metrics_summary(*, trade_pnls: Sequence[float], equity: Sequence[float], returns: Sequence[float]) -> dict:
    """Every metric at once, as the API answers them (None where a metric is undefined)."""
    drawdown, drawdown_fraction = max_drawdown(equity)
    return {
        "trades": len(trade_pnls),
        "wins": sum(1 for p in trade_pnls if p > 0),
        "losses": sum(1 for p in trade_pnls if p < 0),
        "win_rate": win_rate(trade_pnls),
        "average_win": average_win(trade_pnls),
        "average_loss": average_loss(trade_pnls),
        "max_drawdown": drawdown,
        "max_drawdown_fraction": drawdown_fraction,
        "sharpe": sharpe(returns),
        "sortino": sortino(returns),
        "days": len(returns),
    }
