"""`spy_macd_vixy`: SPY daily MACD(12,26,9) crossover regime, with a VIXY hedge when bearish.

On the last of 200 daily bars: the MACD line crossing above its signal is `bullish` (SPY +1), crossing
below is `bearish` (SPY −1, VIXY +1), anything else is `neutral`. The deployable capital (net
liquidation × overall exposure × strategy exposure) is split by |weight|, and quantities come from the
last daily closes. Rows always name both SPY and VIXY, so leaving a regime closes its legs.

A neutral day keeps the regime in force: it re-publishes the previous successful target's rows
unchanged (so the allocator neither dumps the position nor re-sizes it); the context answers which
(the database live, the run's own targets in a backtest). With no previous target
there is no regime yet, and the target is flat (no rows). The seed published an empty signal on
neutral days, and its commander then sold the whole position the next day.

`asOf` (dry runs only) replays the regime as of a past session's close.
"""

import asyncio
import datetime as dt

from pydantic import Field

from trading.iblib import Stock
from trading.intents.context import IntentError
from trading.intents.indicators import BEARISH, BULLISH, NEUTRAL, crossover, macd
from trading.intents.registry import intent_register
from trading.intents.strategy import StrategyIntent, StrategyParams, deployable_capital, history, target_row

WEIGHTS = {BULLISH: {"SPY": 1.0, "VIXY": 0.0}, BEARISH: {"SPY": -1.0, "VIXY": 1.0}}
AS_OF_DRY_ONLY = "asOf replays a past day and is only allowed in a dry run"


@intent_register
class SpyMacdVixy(StrategyIntent):
    name = "spy_macd_vixy"
    description = "SPY daily MACD crossover regime: bullish long SPY, bearish short SPY + long VIXY; neutral keeps the regime."

    class Params(StrategyParams):
        strategy_id: str = "spy_macd_vixy"
        as_of: dt.date | None = Field(None, alias="asOf", description="Dry runs only: the regime as of this day's close.")

    async def run(self, ctx, params):
        if params.as_of and not ctx.dry_run:
            raise IntentError(AS_OF_DRY_ONLY)  # before anything is published
        return await super().run(ctx, params)

    async def targets(self, ctx, params, strategy):
        spy, vixy = await ctx.qualify(Stock("SPY", "SMART", "USD"), Stock("VIXY", "SMART", "USD"))
        end = f"{params.as_of:%Y%m%d} 23:59:59 US/Eastern" if params.as_of else ""
        spy_bars = await history(ctx, spy, duration="200 D", bar_size="1 day", end=end)
        vixy_bars = await history(ctx, vixy, duration="5 D", bar_size="1 day", end=end)
        indicator = await asyncio.to_thread(macd, [bar.close for bar in spy_bars])
        regime = crossover(indicator)
        metadata = {
            **indicator.last(),
            "regime": regime,
            "last_bar": str(spy_bars[-1].date),
            "spy_close": spy_bars[-1].close,
            "vixy_close": vixy_bars[-1].close,
            "as_of": params.as_of.isoformat() if params.as_of else None,
        }
        if regime == NEUTRAL:
            return await self._keep_regime(ctx, strategy, metadata)
        account = await ctx.account_snapshot()
        net_liquidation = account.require("NetLiquidation")
        capital = deployable_capital(net_liquidation, ctx.config.overall_exposure, strategy.exposure)
        weights = WEIGHTS[regime]
        total = sum(abs(w) for w in weights.values())
        closes = {"SPY": spy_bars[-1].close, "VIXY": vixy_bars[-1].close}
        rows = [
            target_row(contract, int(capital * weights[contract.symbol] / total / closes[contract.symbol]))
            for contract in (spy, vixy)
        ]
        metadata.update(
            regime_in_force=regime,
            weights=weights,
            net_liquidation=net_liquidation,
            overall_exposure=str(ctx.config.overall_exposure),
            strategy_exposure=str(strategy.exposure),
            capital=capital,
        )
        return rows, metadata

    async def _keep_regime(self, ctx, strategy, metadata: dict) -> tuple[list[dict], dict]:
        previous = await ctx.target_previous(strategy.strategy_id)
        if previous is None:
            metadata.update(regime_in_force=None, note="neutral day and no previous target: no regime yet, flat")
            return [], metadata
        metadata.update(
            regime_in_force=previous.metadata.get("regime_in_force"),
            kept_from_target=previous.pk,
            note="neutral day: the previous target is kept",
        )
        return list(previous.rows), metadata
