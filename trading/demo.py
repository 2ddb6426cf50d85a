"""Demo mode for `manage.py up` with the paper gateway: paper trading on a new database, a schedule.

Demo never overrides an operator. It changes settings only on a database it has just created
(`config_untouched()`: no settings change was ever recorded and the switches hold their seeded
values); there it enables trading on both the common and the paper row — trading needs every row to
allow it — and makes paper runs real with a small exposure, each change through `config_update`
with source "demo", so it is in the activity log. On any other database it writes no setting and
says in one line what is in force (a stopped database stays stopped). Running it again changes
nothing but the schedule's next run. Only applied while the active mode is paper; `up` refuses demo
mode when a real gateway is configured.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from trading.config import active_mode, config_untouched, config_update, switch_state_line
from trading.models import ConfigScope, TradingMode

DEMO_SCHEDULE = "demo: orchestrator every 2 minutes"
DEMO_INTENT = "orchestrator"
SOURCE = "demo"
NOT_PAPER = "active mode is not paper: demo settings not applied"
ENABLED = (
    "paper trading enabled on this new database (common and paper settings: trading on; paper: real runs "
    "on the paper gateway, exposure 0.1)"
)
LEFT_ALONE = "settings left as they are (demo changes settings only on a new database): {state}"


def demo_enable() -> list[str]:
    """Apply demo mode; returns the lines `up` prints."""
    if active_mode() != TradingMode.PAPER:
        return [NOT_PAPER]
    lines = [_settings_apply()]
    _schedule_upsert()
    lines.append(f"schedule '{DEMO_SCHEDULE}' runs the {DEMO_INTENT} intent; first run in ~20 s")
    return lines


@transaction.atomic
def _settings_apply() -> str:
    if not config_untouched():
        return LEFT_ALONE.format(state=switch_state_line())
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True}, source=SOURCE)
    # A tenth of net liquidation keeps the strategies' orders inside the seeded risk limits.
    config_update(
        scope=ConfigScope.PAPER,
        changes={"trading_enabled": True, "dry_run_default": False, "overall_exposure": Decimal("0.1")},
        source=SOURCE,
    )
    return ENABLED


def _schedule_upsert() -> None:
    from django_q.models import Schedule

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
