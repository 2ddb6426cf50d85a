"""Performance history: round trips from the recorded fills, P&L per strategy and period, the metrics.

- `roundtrips.py` — FIFO matching of fills per (strategy, contract): realized P&L per closing fill and the
  closed round trips (pure, over plain records).
- `metrics.py` — win rate, average win/loss, drawdown, Sharpe, Sortino (pure functions over lists; the
  backtests use it too).
- `periods.py` — the daily / weekly / monthly profit table (a day is a calendar day in the display zone).
- `equity.py` — equity snapshots: what the worker records, the compaction, the curve.
- `selectors.py` — reads from the database that feed the above (API, dashboard).
"""
