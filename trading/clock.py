"""One clock for people: the display time zone, and what a "day" is.

Storage stays UTC. Every surface a person reads (dashboard, admin, schedules, exports, the API's `day`
filters, the performance tables) shows times and cuts days in `display_zone()`. Until the common trading
setting exists the zone comes from DISPLAY_TIME_ZONE (default America/New_York).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings


def display_zone() -> ZoneInfo:
    return ZoneInfo(settings.DISPLAY_TIME_ZONE)


def local_day(moment: datetime) -> date:
    """The calendar day `moment` (aware) falls on in the display zone."""
    return moment.astimezone(display_zone()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in the display zone, as aware datetimes (DST days are 23 or 25 h)."""
    zone = display_zone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def local_text(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    """`moment` as people read it: in the display zone, with the zone's abbreviation."""
    return moment.astimezone(display_zone()).strftime(fmt) if moment else ""
