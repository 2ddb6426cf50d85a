"""Demo mode for `manage.py up` with the paper gateway: trading on, real (paper) runs, a schedule.

Only ever applied to the paper scope while the active mode is paper; `up` refuses it when a real
gateway is configured. Every change goes through config_update, so it is in the activity log.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from trading.config import active_mode, config_update
from trading.models import ConfigScope, TradingMode

DEMO_SCHEDULE = "demo: orchestrator every 2 minutes"
DEMO_INTENT = "orchestrator"


def demo_enable() -> list[str]:
    from django_q.models import Schedule

    if active_mode() != TradingMode.PAPER:
        return ["active mode is not paper: demo settings not applied"]
    config_update(
        scope=ConfigScope.PAPER,
        # A tenth of net liquidation keeps the strategies' orders inside the seeded risk limits.
        changes={"trading_enabled": True, "dry_run_default": False, "overall_exposure": Decimal("0.1")},
        source="demo",
    )
    Schedule.objects.update_or_create(
        name=DEMO_SCHEDULE,
        defaults={
            "func": "trading.intents.tasks.intent_scheduled",
            "args": repr(DEMO_INTENT),
            "schedule_type": Schedule.MINUTES,
            "minutes": 2,
            "repeats": -1,
            "next_run": timezone.now() + timedelta(seconds=20),
        },
    )
    return [
        "paper trading enabled (paper settings: trading on, real runs on the paper gateway, exposure 0.1)",
        f"schedule '{DEMO_SCHEDULE}' runs the {DEMO_INTENT} intent; first run in ~20 s",
    ]
