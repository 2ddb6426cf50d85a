"""Strategy intents: compute target positions and publish them as a StrategyTarget; place nothing.

The allocator (`allocation`, the seed's commander) turns the fresh targets of enabled strategies into
orders. A strategy subclasses `StrategyIntent` and implements `targets`:

    @intent_register
    class MyStrategy(StrategyIntent):
        name = "my_strategy"

        class Params(StrategyParams):
            strategy_id: str = "my_strategy"

        async def targets(self, ctx, params, strategy):
            spy = await ctx.qualify(Stock("SPY", "SMART", "USD"))
            return [target_row(spy[0], 10)], {"why": "always ten"}

If `targets` raises, an `error` target is published (so the allocator reports the strategy as failed
rather than silently using yesterday's target) and the run fails with the message.

Targets from dry runs are kept apart: a real allocation never acts on a dry run's target.
"""

from __future__ import annotations

import asyncio
from typing import Any

from trading.intents.base import Intent, IntentParams
from trading.intents.context import IntentContext, IntentError
from trading.models import Strategy, StrategyTarget, TargetStatus

HISTORY_TIMEOUT = 30.0
NO_BARS = "IB returned no {bar_size} bars for {symbol} ({duration})"
UNKNOWN_STRATEGY = "unknown strategy {name!r}"


class StrategyParams(IntentParams):
    strategy_id: str


class StrategyIntent(Intent):
    places_orders = False
    timeout = 60.0
    Params = StrategyParams

    @classmethod
    def check(cls, params) -> list[dict]:
        return strategies_unknown([params.strategy_id], loc="strategy_id", single=True)

    async def targets(self, ctx: IntentContext, params, strategy: Strategy) -> tuple[list[dict], dict]:
        """(target rows, metadata): see `target_row` for a row's shape."""
        raise NotImplementedError

    async def run(self, ctx: IntentContext, params) -> dict[str, Any]:
        strategy = await ctx.db(Strategy.objects.get, strategy_id=params.strategy_id)
        try:
            rows, metadata = await self.targets(ctx, params, strategy)
        except Exception as exc:
            message = str(exc) if isinstance(exc, IntentError) else f"{type(exc).__name__}: {exc}"
            await ctx.db(
                target_publish, ctx=ctx, strategy=strategy, status=TargetStatus.ERROR, rows=[], metadata={"error": message}
            )
            raise
        target = await ctx.db(
            target_publish, ctx=ctx, strategy=strategy, status=TargetStatus.SUCCESS, rows=rows, metadata=metadata
        )
        shown = ", ".join(f"{row['symbol']} {row['quantity']:+g}" for row in rows) or "flat (no rows)"
        await ctx.log(f"{strategy.strategy_id} published target #{target.pk}: {shown}", strategy=strategy.strategy_id)
        return {"strategy_id": strategy.strategy_id, "target": target_as_dict(target)}


def target_row(contract, quantity: float) -> dict:
    """A target row from a qualified contract: what the allocator needs to route an order."""
    routed = "IDEALPRO" if contract.secType == "CASH" else "SMART"
    return {
        "symbol": contract.symbol,
        "sec_type": contract.secType,
        "exchange": routed,
        "currency": contract.currency,
        "con_id": contract.conId,
        "quantity": quantity,
    }


def target_publish(*, ctx: IntentContext, strategy: Strategy, status: str, rows: list[dict], metadata: dict) -> StrategyTarget:
    return StrategyTarget.objects.create(
        strategy=strategy, mode=ctx.mode, status=status, rows=rows, metadata=metadata, run=ctx.run
    )


def target_latest(*, strategy_id: str, mode: str, include_dry_runs: bool, status: str | None = None) -> StrategyTarget | None:
    """The newest target of a strategy in a mode (a real run never sees dry runs' targets)."""
    targets = StrategyTarget.objects.filter(strategy__strategy_id=strategy_id, mode=mode).select_related("run")
    if not include_dry_runs:
        targets = targets.exclude(run__dry_run=True)
    if status:
        targets = targets.filter(status=status)
    return targets.order_by("-updated_at", "-id").first()


def target_as_dict(target: StrategyTarget) -> dict:
    return {
        "id": target.pk,
        "strategy_id": target.strategy.strategy_id,
        "status": target.status,
        "mode": target.mode,
        "rows": target.rows,
        "metadata": target.metadata,
        "updated_at": target.updated_at.isoformat(),
        "dry_run": bool(target.run and target.run.dry_run),
    }


async def history(ctx: IntentContext, contract, *, duration: str, bar_size: str, end="") -> list:
    """Historical TRADES bars (regular hours) or an IntentError naming what was asked."""
    try:
        bars = await asyncio.wait_for(
            ctx.ib.reqHistoricalDataAsync(
                contract, endDateTime=end, durationStr=duration, barSizeSetting=bar_size, whatToShow="TRADES", useRTH=True
            ),
            HISTORY_TIMEOUT,
        )
    except TimeoutError:
        bars = []
    if not bars:
        raise IntentError(NO_BARS.format(bar_size=bar_size, symbol=contract.symbol, duration=duration))
    return list(bars)


def deployable_capital(net_liquidation: float, overall_exposure, strategy_exposure) -> float:
    """The capital a strategy may deploy: net liquidation × overall exposure × the strategy's exposure."""
    return net_liquidation * float(overall_exposure) * float(strategy_exposure)


def strategies_unknown(strategies: list[str] | None, *, loc: str = "strategies", single: bool = False) -> list[dict]:
    """Submission-time check: every named strategy must exist (errors in the schema's error shape)."""
    if not strategies:
        return []
    known = set(Strategy.objects.filter(strategy_id__in=strategies).values_list("strategy_id", flat=True))
    return [
        {"loc": [loc] if single else [loc, i], "msg": UNKNOWN_STRATEGY.format(name=name), "type": "unknown_strategy"}
        for i, name in enumerate(strategies)
        if name not in known
    ]
