"""`testsignalgenerator`: the seed's test strategy — a MACD level signal on SPY's 30-minute bars.

SPY 30-minute TRADES bars over 5 days (regular hours), MACD(12,26,9) on the closes: +1 while the MACD
line is above its signal line, −1 below, 0 when equal. Target = int(NetLiquidation × overall exposure
× strategy exposure × signal / last close) shares of SPY, published as a StrategyTarget. Places nothing.
"""

import asyncio

from trading.iblib import Stock
from trading.intents.indicators import level_signal, macd
from trading.intents.registry import intent_register
from trading.intents.strategy import StrategyIntent, StrategyParams, deployable_capital, history, target_row


@intent_register
class SignalGenerator(StrategyIntent):
    name = "testsignalgenerator"
    description = "SPY 30-minute MACD(12,26,9) level signal; publishes a SPY target sized from net liquidation. Places nothing."

    class Params(StrategyParams):
        strategy_id: str = "testsignalgenerator"

    async def targets(self, ctx, params, strategy):
        spy = (await ctx.qualify(Stock("SPY", "SMART", "USD")))[0]
        bars = await history(ctx, spy, duration="5 D", bar_size="30 mins")
        closes = [bar.close for bar in bars]
        indicator = await asyncio.to_thread(macd, closes)
        signal = level_signal(indicator)
        account = await ctx.account_snapshot()
        net_liquidation = account.require("NetLiquidation")
        capital = deployable_capital(net_liquidation, ctx.config.overall_exposure, strategy.exposure)
        last_close = closes[-1]
        quantity = int(capital * signal / last_close)
        metadata = {
            **indicator.last(),
            "direction": signal,
            "last_close": last_close,
            "last_bar": str(bars[-1].date),
            "bars": len(bars),
            "net_liquidation": net_liquidation,
            "overall_exposure": str(ctx.config.overall_exposure),
            "strategy_exposure": str(strategy.exposure),
        }
        return [target_row(spy, quantity)], metadata
