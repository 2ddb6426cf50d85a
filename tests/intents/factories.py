"""Small builders for intent tests: strategy targets as a strategy would publish them."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from trading.models import IntentRun, RunSource, RunStatus, Strategy, StrategyTarget, TargetStatus

CON_IDS = {"SPY": 756733, "VIXY": 500000001, "TLT": 15547841, "QQQ": 320227571, "AAPL": 265598}


def switches_set(**changes) -> None:
    """Set switches and limits on the common row and the paper row alike, so a test means the same
    under any rule for combining them (a stop anywhere stops)."""
    from trading.config import config_update
    from trading.models import ConfigScope

    for scope in (ConfigScope.COMMON, ConfigScope.PAPER):
        config_update(scope=scope, changes=changes)


def row(symbol: str, quantity: float) -> dict:
    return {
        "symbol": symbol,
        "sec_type": "STK",
        "exchange": "SMART",
        "currency": "USD",
        "con_id": CON_IDS[symbol],
        "quantity": quantity,
    }


def target_make(
    strategy_id: str,
    quantities: dict[str, float],
    *,
    minutes_old: float = 0,
    status: str = TargetStatus.SUCCESS,
    dry_run: bool = False,
    metadata: dict | None = None,
) -> StrategyTarget:
    """A target of `strategy_id` in paper mode, `minutes_old` minutes ago (from a dry run if asked)."""
    strategy = Strategy.objects.get(strategy_id=strategy_id)
    run = None
    if dry_run:
        run = IntentRun.objects.create(
            intent=strategy_id, dry_run=True, mode="paper", source=RunSource.CLI, status=RunStatus.SUCCEEDED
        )
    target = StrategyTarget.objects.create(
        strategy=strategy,
        mode="paper",
        status=status,
        rows=[row(symbol, quantity) for symbol, quantity in quantities.items()],
        metadata=metadata or {},
        run=run,
    )
    if minutes_old:
        StrategyTarget.objects.filter(pk=target.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes_old))
        target.refresh_from_db()
    return target
