"""`risk_check`: trip the kill switch when today's loss or the gross exposure passes its limit.

Today's loss is IB's DailyPnL for the account (reqPnL: realized + unrealized since the start of the
day, which the worker subscribes to at connect); when IB has not sent one yet, NetLiquidation −
PreviousDayEquityWithLoanValue from a fresh account summary stands in. Gross exposure is the account
summary's GrossPositionValue. Limits come from the live settings (`daily_loss_limit`,
`max_gross_exposure`; blank means no limit).

Limits are those in force for the worker's mode and the run's account: an account row's limit
tightens the mode's. On a breach it turns trading off in the *worker's mode's* settings scope (a
mode's value overrides common, so this stops that mode whatever common says, and leaves the other
mode alone) — or in the *account's* row when a breached limit is that account's own, so one
account's loss stops that account and not the others — and records why (activity kind `risk`,
warning). Turn it back on in that row. A dry run reports what it would do and changes nothing.
Places nothing.
"""

from __future__ import annotations

import math
from decimal import Decimal

from trading.activity import activity_record
from trading.config import config_update, effective_config
from trading.intents.account import account_snapshot
from trading.intents.base import Intent, IntentParams
from trading.intents.registry import intent_register
from trading.models import ActivityKind, ConfigScope, TradingConfig
from trading.models.activity import Severity

LOSS = "today's loss {loss:,.2f} is over the daily loss limit {limit:,.2f}"
GROSS = "gross position value {gross:,.2f} is over the maximum gross exposure {limit:,.2f}"
SOURCE = "risk_check"


@intent_register
class RiskCheck(Intent):
    name = "risk_check"
    description = "Trip the kill switch when today's loss or the gross position value passes its limit. Places nothing."
    timeout = 30.0

    class Params(IntentParams):
        pass

    async def run(self, ctx, params):
        from trading.intents.orders import order_account  # orders imports the intents package

        account_id = order_account(ctx)
        config = ctx.config = await ctx.db(effective_config, ctx.mode, account=account_id or None)
        own = await ctx.db(_account_limits, account_id)
        account = await account_snapshot(ctx)
        daily, source = _daily_pnl(ctx, account)
        loss = max(-daily, 0.0) if daily is not None else None
        gross = account.number("GrossPositionValue")
        breaches, breached = [], []
        if config.daily_loss_limit is not None and loss is not None and loss > float(config.daily_loss_limit):
            breaches.append(LOSS.format(loss=loss, limit=config.daily_loss_limit))
            breached.append("daily_loss_limit")
        if config.max_gross_exposure is not None and gross is not None and gross > float(config.max_gross_exposure):
            breaches.append(GROSS.format(gross=gross, limit=config.max_gross_exposure))
            breached.append("max_gross_exposure")
        # The account's own limit is the one breached: stop that account, not the whole mode.
        by_account = any(own.get(name) is not None and own[name] == getattr(config, name) for name in breached)
        result = {
            "daily_pnl": daily,
            "pnl_source": source,
            "loss": loss,
            "daily_loss_limit": _text(config.daily_loss_limit),
            "gross_position_value": gross,
            "max_gross_exposure": _text(config.max_gross_exposure),
            "breaches": breaches,
            "trading_enabled_before": config.trading_enabled,
            "scope": ConfigScope.ACCOUNT if by_account else ctx.mode,
            "account": account_id,
            "tripped": False,
        }
        if not breaches:
            return result
        if ctx.dry_run:
            return {**result, "would_trip": config.trading_enabled}
        tripped = config.trading_enabled
        await ctx.db(
            _trip, mode=ctx.mode, account=account_id if by_account else None, breaches=breaches, tripped=tripped,
            payload=result, run=ctx.run,
        )  # fmt: skip
        return {**result, "tripped": tripped}


def _daily_pnl(ctx, account) -> tuple[float | None, str]:
    for pnl in ctx.ib.pnl(ctx.account) if ctx.account else ctx.ib.pnl():
        if pnl.dailyPnL is not None and not math.isnan(pnl.dailyPnL):
            return float(pnl.dailyPnL), "reqPnL DailyPnL"
    now, before = account.number("NetLiquidation"), account.number("PreviousDayEquityWithLoanValue")
    if now is not None and before is not None:
        return now - before, "NetLiquidation - PreviousDayEquityWithLoanValue"
    return None, "unavailable"


def _account_limits(account: str) -> dict:
    """The account row's own loss and exposure limits ({} without a row)."""
    if not account:
        return {}
    rows = TradingConfig.objects.filter(scope=ConfigScope.ACCOUNT, account=account)
    return rows.values("daily_loss_limit", "max_gross_exposure").first() or {}


def _trip(*, mode: str, account: str | None, breaches: list[str], tripped: bool, payload: dict, run) -> None:
    where = f"account {account}" if account else mode
    if tripped and account:
        config_update(scope=ConfigScope.ACCOUNT, account=account, changes={"trading_enabled": False}, source=SOURCE)
    elif tripped:
        config_update(scope=mode, changes={"trading_enabled": False}, source=SOURCE)
    action = f"trading turned off for {where} (kill switch)" if tripped else f"trading was already off for {where}"
    activity_record(
        kind=ActivityKind.RISK,
        severity=Severity.WARNING,
        message=f"risk limit breached ({'; '.join(breaches)}): {action}",
        mode=mode,
        run=run,
        payload=payload,
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
