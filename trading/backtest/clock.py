"""The backtest's clock: the moments a strategy runs, from `--every`.

- "16:15 America/New_York" (zone optional, New York by default): once a weekday at that time;
- a bar size ("30 mins", "1 hour"): at every bar's end through the regular session (10:00 … 16:00).
The default is the time of the strategy's enabled schedule (a cron "M H * * …"), else the close.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trading.backtest.bars import BAR_SECONDS, NEW_YORK, SESSION_CLOSE, SESSION_OPEN

SESSION_CLOSE_TEXT = "16:00 America/New_York"
BAD_EVERY = "--every is a time like '16:15 America/New_York' or a bar size like '30 mins', not {value!r}"


def clock_steps(every: str, start: dt.date, end: dt.date) -> list[dt.datetime]:
    """Every simulated moment (UTC) from `start` to `end`, both included, weekdays only."""
    times = _times_of_day(every)
    steps, day = [], start
    while day <= end:
        if day.weekday() < 5:
            steps.extend(dt.datetime.combine(day, t, zone).astimezone(dt.UTC) for t, zone in times)
        day += dt.timedelta(days=1)
    return steps


def _times_of_day(every: str) -> list[tuple[dt.time, ZoneInfo]]:
    text = " ".join(str(every).split())
    if text in BAR_SECONDS and BAR_SECONDS[text] < 86400:
        step = dt.timedelta(seconds=BAR_SECONDS[text])
        moment = dt.datetime.combine(dt.date(2000, 1, 3), SESSION_OPEN) + step
        close = dt.datetime.combine(dt.date(2000, 1, 3), SESSION_CLOSE)
        out = []
        while moment <= close:
            out.append((moment.time(), NEW_YORK))
            moment += step
        return out
    clock, _, zone = text.partition(" ")
    try:
        return [(dt.time.fromisoformat(clock), ZoneInfo(zone) if zone else NEW_YORK)]
    except (ValueError, ZoneInfoNotFoundError):
        raise ValueError(BAD_EVERY.format(value=every)) from None


def every_default(strategy: str) -> str:
    """The strategy's enabled cron schedule's time of day, else the session close."""
    from django_q.models import Schedule

    from trading.intents.schedules import schedule_intent, scheduler_zone

    for schedule in Schedule.objects.filter(schedule_type=Schedule.CRON).exclude(repeats=0).order_by("pk"):
        wanted = schedule_intent(schedule)
        fields = (schedule.cron or "").split()
        if wanted and wanted.get("intent") == strategy and len(fields) == 5 and fields[0].isdigit() and fields[1].isdigit():
            return f"{int(fields[1]):02d}:{int(fields[0]):02d} {scheduler_zone().key}"
    return SESSION_CLOSE_TEXT
