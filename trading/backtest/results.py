"""A finished backtest as JSON: trades, daily equity and the metrics, the same definitions as the
performance page (trading/performance/metrics.py) and the same round-trip matching (roundtrips.py).

Money is rounded to the cent and ratios to six decimals, so equal runs print equal bytes.

Besides the performance page's metrics: total return = e_n / cash − 1; turnover = Σ |fill value| / mean
equity; exposure = the mean over days of gross position value / equity at the day's last step;
commissions = Σ commission of the fills.
"""

from __future__ import annotations

from trading.performance import metrics
from trading.performance.roundtrips import FillRecord, ledger_build

MONEY = ("average_win", "average_loss", "max_drawdown", "final_equity", "commissions", "cash", "net_profit")


def results_build(*, strategy, start, end, settings, broker, equity, exposure, failures, steps) -> dict:
    days = sorted(equity)
    values = [equity[d] for d in days]
    returns = metrics.daily_returns(values)
    fills = broker.fills
    ledger = ledger_build(
        FillRecord(
            strategy=settings["strategy_id"], con_id=f.con_id, symbol=f.symbol, side=f.side, shares=f.quantity,
            price=f.price, commission=f.commission, executed_at=f.time, exec_id=f"{i:08d}",
        )
        for i, f in enumerate(fills)
    )  # fmt: skip
    pnls = [trip.pnl for trip in ledger.round_trips]
    final = values[-1] if values else settings["cash"]
    summary = metrics.metrics_summary(trade_pnls=pnls, equity=[settings["cash"], *values], returns=returns)
    traded = sum(abs(f.quantity * f.price) for f in fills)
    summary.update(
        cash=settings["cash"],
        final_equity=final,
        net_profit=final - settings["cash"],
        total_return=final / settings["cash"] - 1,
        annualised_return=metrics.annualised_return(settings["cash"], final, len(values)),
        volatility=metrics.volatility(returns),
        max_drawdown_duration_days=metrics.drawdown_duration(values),
        turnover=traded / (sum(values) / len(values)) if values else 0.0,
        commissions=sum(f.commission for f in fills),
        exposure=sum(exposure.values()) / len(exposure) if exposure else 0.0,
        fills=len(fills),
        unfilled_orders=len(broker.pending),
        steps=steps,
        failed_steps=len(failures),
        first_failure=failures[0] if failures else None,
    )
    return {
        "strategy": strategy,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "settings": settings,
        "metrics": {key: _rounded(key, value) for key, value in summary.items()},
        "trades": [fill.as_dict() for fill in fills],
        "equity": [[day, round(value, 2)] for day, value in zip(days, values, strict=True)],
    }


def _rounded(key: str, value):
    if isinstance(value, float):
        return round(value, 2) if key in MONEY else round(value, 6)
    return value
