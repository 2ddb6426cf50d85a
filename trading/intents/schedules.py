"""Schedules for intents: django-q2 Schedule rows that call `trading.intents.tasks.intent_scheduled`.

django-q2 (1.11) has no "enabled" flag. Its scheduler picks schedules with `repeats != 0` and
`next_run` in the past, so here *disabled* is `repeats = 0`, and *enabling* sets `repeats = -1`
(forever) and computes `next_run` from now — otherwise a schedule whose next run lies in the past
fires at once. Cron expressions are evaluated in django-q2's time zone: `Q_CLUSTER["time_zone"]`,
else TIME_ZONE. Parameters are validated with the intent's schema when the schedule is made, and again
by the submission path each time it fires.
"""

from __future__ import annotations

import ast
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django_q.conf import Conf
from django_q.models import Schedule

from trading.activity import activity_record
from trading.intents.registry import intent_get
from trading.intents.runs import params_validate, split_dry_run
from trading.models import ActivityKind

SCHEDULE_FUNC = "trading.intents.tasks.intent_scheduled"
MARKET_TIME_ZONE = ZoneInfo("America/New_York")
BAD_CRON = "not a cron expression: {error}"


def schedule_create(
    *, name: str, intent: str, params: dict, dry_run: bool | None, cron: str, enabled: bool, user=None
) -> Schedule:
    """A cron schedule for `intent` (IntentNotFound / IntentParamsInvalid / ValidationError when invalid)."""
    intent_cls = intent_get(intent)
    params, dry_run = split_dry_run(params, dry_run)
    clean = params_validate(intent_cls, params)
    schedule = Schedule(
        name=name,
        func=SCHEDULE_FUNC,
        kwargs=repr({"intent": intent, "params": clean, "dry_run": dry_run}),
        schedule_type=Schedule.CRON,
        cron=cron.strip(),
        repeats=-1 if enabled else 0,
    )
    try:
        schedule.full_clean(exclude=["next_run"])
    except ValidationError as exc:
        if "cron" in exc.message_dict:
            raise ValidationError({"cron": BAD_CRON.format(error="; ".join(exc.message_dict["cron"]))}) from None
        raise
    with transaction.atomic():
        schedule.save()  # django-q2 computes the first next_run of a new cron schedule
        if not enabled:
            Schedule.objects.filter(pk=schedule.pk).update(next_run=None)
            schedule.next_run = None
        _record(schedule, user, f"created ({'enabled' if enabled else 'disabled'}) for {intent}, cron {schedule.cron!r}")
    return schedule


def schedule_enable(*, schedule: Schedule, user=None) -> Schedule:
    schedule.repeats = -1
    schedule.next_run = schedule.calculate_next_run()
    schedule.save(update_fields=["repeats", "next_run"])
    _record(schedule, user, f"enabled; next run {schedule_next_run_text(schedule)}")
    return schedule


def schedule_disable(*, schedule: Schedule, user=None) -> Schedule:
    schedule.repeats = 0
    schedule.save(update_fields=["repeats"])
    _record(schedule, user, "disabled")
    return schedule


def schedule_intent(schedule: Schedule) -> dict | None:
    """{"intent", "params", "dry_run"} of a schedule that runs an intent; None for other schedules."""
    if schedule.func != SCHEDULE_FUNC or not schedule.kwargs:
        return None
    try:
        kwargs = ast.literal_eval(schedule.kwargs)
    except (ValueError, SyntaxError):
        return None
    return kwargs if isinstance(kwargs, dict) else None


def schedule_next_run_text(schedule: Schedule) -> str:
    """The next run in the scheduler's time zone and in New York (market) time."""
    if schedule.next_run is None or schedule.repeats == 0:
        return "never (disabled)"
    zone = ZoneInfo(Conf.TIME_ZONE or "UTC")
    local = schedule.next_run.astimezone(zone)
    market = schedule.next_run.astimezone(MARKET_TIME_ZONE)
    text = f"{local:%a %Y-%m-%d %H:%M} {zone.key}"
    if zone.key != MARKET_TIME_ZONE.key:
        text += f" ({market:%H:%M} in New York)"
    return text


def _record(schedule: Schedule, user, what: str) -> None:
    who = getattr(user, "username", None) or "system"
    activity_record(
        kind=ActivityKind.CONFIG_CHANGE,
        message=f"{who}: schedule {schedule.name!r} {what}",
        actor=user if getattr(user, "is_authenticated", False) else None,
        payload={"schedule": schedule.pk, "name": schedule.name, "cron": schedule.cron, "repeats": schedule.repeats},
    )
