"""Backtests: a strategy's unchanged `targets()` replayed over stored bars (docs/BACKTEST.md).

- bars.py     stored bars, what is visible when, CSV import, holes in the store
- clock.py    the simulated moments (`--every`)
- context.py  the simulated context the strategy runs on (history, account, previous target)
- broker.py   the simulated broker (fill rules, commission, slippage)
- engine.py   one run, start to end; results.py its JSON; report.py its HTML page
- tasks.py    the q2 task behind the admin and `POST /api/backtests` (never the IB worker)
"""
