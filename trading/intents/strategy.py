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

`targets` reaches the market, the account and its own past only through `ctx` (`history()` below,
`ctx.account_snapshot()`, `ctx.target_previous()`, `ctx.qualify()`, `ctx.config`) and the `strategy` row
it is given: that is what lets a backtest run the very same code on a simulated context
(docs/BACKTEST.md).

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
# IB answers a burst of history requests with error 162 "pacing violation" (identical requests within
# 15 s, six for one contract within 2 s, 60 in 10 minutes): wait and ask again, longer each time.
PACING_BACKOFF = (2.0, 5.0, 10.0)
PACING_CODE = 162
PACED_OUT = NO_BARS + ": still a pacing violation after {tries} tries over {waited:g} s"
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
    """Historical TRADES bars (regular hours) as of the context's moment, or an IntentError naming what was
    asked: IB for a live run (`ib_history`), stored bars for a backtest (trading/backtest/context.py)."""
    return await ctx.history(contract, duration=duration, bar_size=bar_size, end=end)


async def ib_history(ctx: IntentContext, contract, *, duration: str, bar_size: str, end="", what_to_show="TRADES") -> list:
    """Historical TRADES bars (regular hours) from IB or an IntentError naming what was asked.

    A pacing violation (error 162) is waited out: the request is repeated after each of
    `PACING_BACKOFF`'s pauses, each wait in the activity log; any other empty answer fails at once."""
    waited, attempt = 0.0, 0
    while True:
        attempt += 1
        bars, paced = await _history_once(ctx, contract, duration=duration, bar_size=bar_size, end=end, what_to_show=what_to_show)
        if bars:
            return bars
        asked = {"bar_size": bar_size, "symbol": contract.symbol, "duration": duration}
        if not paced:
            raise IntentError(NO_BARS.format(**asked))
        if attempt > len(PACING_BACKOFF):
            raise IntentError(PACED_OUT.format(**asked, tries=attempt, waited=waited))
        pause = PACING_BACKOFF[attempt - 1]
        await ctx.log(f"{NO_BARS.format(**asked)}: IB pacing violation (162), asking again in {pause:g} s (attempt {attempt})")
        await asyncio.sleep(pause)
        waited += pause


async def _history_once(
    ctx: IntentContext, contract, *, duration: str, bar_size: str, end, what_to_show: str
) -> tuple[list, bool]:
    """(bars, whether IB refused with a pacing violation meanwhile)."""
    paced = False

    def on_error(req_id, code, message, _contract) -> None:
        nonlocal paced
        paced = paced or (code == PACING_CODE and "pacing violation" in message.lower())

    ctx.ib.errorEvent += on_error
    try:
        bars = await asyncio.wait_for(
            ctx.ib.reqHistoricalDataAsync(
                contract, endDateTime=end, durationStr=duration, barSizeSetting=bar_size, whatToShow=what_to_show, useRTH=True
            ),
            HISTORY_TIMEOUT,
        )
    except TimeoutError:
        bars = []
    finally:
        ctx.ib.errorEvent -= on_error
    return list(bars or []), paced


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
