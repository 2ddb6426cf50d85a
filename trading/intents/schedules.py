"""Schedules for intents: django-q2 Schedule rows that call `trading.intents.tasks.intent_scheduled`.

django-q2 (1.11) has no "enabled" flag. Its scheduler picks schedules with `repeats != 0` and
`next_run` in the past, so here *disabled* is `repeats = 0`, and *enabling* sets `repeats = -1`
(forever) and computes `next_run` from now — otherwise a schedule whose next run lies in the past
fires at once. Cron expressions are evaluated in django-q2's time zone: `Q_CLUSTER["time_zone"]`
(env SCHEDULE_TIME_ZONE, default America/New_York), named wherever a cron is entered; run times are
shown in the display zone (trading/clock.py). An interval schedule (every N minutes) first runs N
minutes after it is saved or enabled. Parameters are validated with the intent's schema when the schedule is made, and again
by the submission path each time it fires.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule

from trading.activity import activity_record
from trading.clock import local_text
from trading.intents.registry import intent_get
from trading.intents.runs import params_validate, run_account_resolve, run_submit, split_account, split_dry_run
from trading.models import ActivityKind, IntentRun, RunSource

SCHEDULE_FUNC = "trading.intents.tasks.intent_scheduled"
BAD_CRON = "not a cron expression: {error}"
ONE_TIMING = "give either a cron expression or an interval in minutes (one of the two)"
MAX_MINUTES = 7 * 24 * 60
BAD_MINUTES = f"an interval is 1 to {MAX_MINUTES} minutes"
NOT_AN_INTENT_SCHEDULE = "schedule {name!r} does not run an intent"
RUN_TIME_FORMAT = "%a %Y-%m-%d %H:%M %Z"


def schedule_create(
    *,
    name: str,
    intent: str,
    params: dict,
    dry_run: bool | None,
    cron: str = "",
    minutes: int | None = None,
    enabled: bool,
    user=None,
) -> Schedule:
    """A cron (or every-`minutes`) schedule for `intent` (IntentNotFound / IntentParamsInvalid /
    ValidationError when invalid; nothing is saved then)."""
    return schedule_save(
        schedule=Schedule(), name=name, intent=intent, params=params, dry_run=dry_run, cron=cron, minutes=minutes,
        enabled=enabled, user=user,
    )  # fmt: skip


def schedule_save(
    *,
    schedule: Schedule,
    name: str,
    intent: str,
    params: dict,
    dry_run: bool | None,
    cron: str = "",
    minutes: int | None = None,
    enabled: bool,
    user=None,
) -> Schedule:
    """Create (a new `Schedule()`) or update a schedule; exactly one of `cron` and `minutes` is given.

    The next run is computed from now (an interval schedule first runs `minutes` from now), so saving
    never makes a schedule fire at once for a time that has passed.
    """
    intent_cls = intent_get(intent)
    params, dry_run = split_dry_run(params, dry_run)
    params, account = split_account(params, None)
    clean = params_validate(intent_cls, params)
    if account:  # known now (each run checks it again, and its worker); kept with the params, as a body has it
        run_account_resolve(intent, account)
        clean = {**clean, "account": account}
    if bool(cron and cron.strip()) == (minutes is not None):
        raise ValidationError({"cron": ONE_TIMING})
    if minutes is not None and not 1 <= minutes <= MAX_MINUTES:
        raise ValidationError({"minutes": BAD_MINUTES})
    created = schedule.pk is None
    schedule.name = name
    schedule.func = SCHEDULE_FUNC
    schedule.kwargs = repr({"intent": intent, "params": clean, "dry_run": dry_run})
    schedule.schedule_type = Schedule.CRON if minutes is None else Schedule.MINUTES
    schedule.cron = cron.strip() if minutes is None else None
    schedule.minutes = minutes
    schedule.repeats = -1 if enabled else 0
    try:
        schedule.full_clean(exclude=["next_run"])
    except ValidationError as exc:
        if "cron" in exc.message_dict:
            raise ValidationError({"cron": BAD_CRON.format(error="; ".join(exc.message_dict["cron"]))}) from None
        raise
    schedule.next_run = _next_from_now(schedule) if enabled else None
    with transaction.atomic():
        schedule.save()
        if not enabled:  # django-q2's save() computes a first next_run of a new cron schedule: a disabled one has none
            Schedule.objects.filter(pk=schedule.pk).update(next_run=None)
            schedule.next_run = None
        timing = f"cron {schedule.cron!r}" if minutes is None else f"every {minutes} min"
        state = "enabled" if enabled else "disabled"
        _record(schedule, user, f"{'created' if created else 'changed'} ({state}) for {intent}, {timing}")
    return schedule


def _next_from_now(schedule: Schedule) -> datetime:
    if schedule.schedule_type == Schedule.MINUTES:
        return timezone.now() + timedelta(minutes=schedule.minutes)
    return schedule.calculate_next_run()


def schedule_next_runs(schedule: Schedule, count: int = 5) -> list[datetime]:
    """The next `count` times the schedule fires (UTC), or [] when it is disabled."""
    if schedule.repeats == 0 or schedule.next_run is None:
        return []
    if schedule.schedule_type == Schedule.MINUTES:
        step = timedelta(minutes=schedule.minutes or 1)
        return [schedule.next_run + step * k for k in range(count)]
    if schedule.schedule_type != Schedule.CRON:
        return [schedule.next_run]
    # Cron is read in the scheduler's zone (as django-q2 reads it), starting just before the next run.
    times = croniter(schedule.cron, schedule.next_run.astimezone(scheduler_zone()) - timedelta(seconds=1))
    return [times.get_next(datetime).astimezone(UTC) for _ in range(count)]


def schedule_run_now(*, schedule: Schedule, user) -> IntentRun:
    """Submit the schedule's intent now through the one submission path (source admin, in the user's name)."""
    call = schedule_intent(schedule)
    if call is None:
        raise ValueError(NOT_AN_INTENT_SCHEDULE.format(name=schedule.name))
    run, _ = run_submit(
        intent=call["intent"], params=call.get("params") or {}, dry_run=call.get("dry_run"),
        source=RunSource.ADMIN, requested_by=user,
    )  # fmt: skip
    return run


def scheduler_zone() -> ZoneInfo:
    """The zone django-q2 reads cron expressions in: Q_CLUSTER["time_zone"] (env SCHEDULE_TIME_ZONE)."""
    return ZoneInfo(Conf.TIME_ZONE or "UTC")


def schedule_enable(*, schedule: Schedule, user=None) -> Schedule:
    schedule.repeats = -1
    schedule.next_run = _next_from_now(schedule)
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
    """The next run as people read it: in the display zone, named ("Mon 2026-11-30 16:15 EST")."""
    if schedule.next_run is None or schedule.repeats == 0:
        return "never (disabled)"
    return local_text(schedule.next_run, RUN_TIME_FORMAT)


def _record(schedule: Schedule, user, what: str) -> None:
    who = getattr(user, "username", None) or "system"
    activity_record(
        kind=ActivityKind.CONFIG_CHANGE,
        message=f"{who}: schedule {schedule.name!r} {what}",
        actor=user if getattr(user, "is_authenticated", False) else None,
        payload={"schedule": schedule.pk, "name": schedule.name, "cron": schedule.cron, "repeats": schedule.repeats},
    )
