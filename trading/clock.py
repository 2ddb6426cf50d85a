"""One clock for people: the display time zone, and what a "day" is.

Storage stays UTC. Every surface a person reads (dashboard, admin, schedules, exports, the API's `day`
filters, the performance tables) shows times and cuts days in `display_zone()`: the common trading
setting `display_time_zone`, or the DISPLAY_TIME_ZONE environment variable (default America/New_York)
when that is blank or the settings table is not there yet (before `migrate`).

Reading the zone costs one small query, so it is remembered for `CACHE_SECONDS`:
- a change saved through `config_update` or the admin forgets it at once in that process;
- `DisplayZoneMiddleware` re-reads it at the start of every page request, so pages never lag;
- API requests (`/api/`), and other processes (the worker, the q2 cluster), see a change made in another
  process within `CACHE_SECONDS`: a script's calls do not pay a query each for a setting that seldom changes.
"""

from __future__ import annotations

import time as monotonic_time
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import SynchronousOnlyOperation
from django.db import DatabaseError
from django.utils import timezone

CACHE_SECONDS = 10.0
API_PREFIX = "/api/"
_cached: tuple[ZoneInfo, float] | None = None  # (zone, monotonic time it was read)


def display_zone(*, fresh: bool = False) -> ZoneInfo:
    """The zone people read times in (see the module docstring for where it comes from)."""
    global _cached
    now = monotonic_time.monotonic()
    if not fresh and _cached is not None and now - _cached[1] < CACHE_SECONDS:
        return _cached[0]
    zone = _zone_read()
    if zone is None:  # no database to ask from here (async context): the last value read, else the env default
        return _cached[0] if _cached is not None else ZoneInfo(settings.DISPLAY_TIME_ZONE)
    _cached = (zone, now)
    return zone


def display_zone_forget() -> None:
    """Drop the remembered zone (after the setting changes), so the next read asks the database."""
    global _cached
    _cached = None


def _zone_read() -> ZoneInfo | None:
    from trading.models import ConfigScope, TradingConfig

    try:
        name = TradingConfig.objects.filter(scope=ConfigScope.COMMON).values_list("display_time_zone", flat=True).first()
    except SynchronousOnlyOperation:
        return None
    except DatabaseError:  # no settings table yet (before migrate)
        name = None
    return ZoneInfo(name or settings.DISPLAY_TIME_ZONE)


def zone_label(moment: datetime | None = None) -> str:
    """'America/New_York (EST)': the zone's name and its abbreviation at `moment` (default now)."""
    zone = display_zone()
    return f"{zone.key} ({(moment or timezone.now()).astimezone(zone):%Z})"


def local_day(moment: datetime) -> date:
    """The calendar day `moment` (aware) falls on in the display zone."""
    return moment.astimezone(display_zone()).date()


def local_today() -> date:
    return local_day(timezone.now())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in the display zone, in UTC (DST days are 23 or 25 h long).

    UTC, not the zone: Python subtracts two datetimes of the same zone by wall time, which would make
    every day 24 h.
    """
    zone = display_zone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_text(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    """`moment` as people read it: in the display zone, with the zone's abbreviation."""
    return moment.astimezone(display_zone()).strftime(fmt) if moment else ""


class DisplayZoneMiddleware:
    """Every web request renders times in the display zone (Django's current time zone): read fresh for
    a page, remembered for up to CACHE_SECONDS for an API call (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.activate(display_zone(fresh=not request.path_info.startswith(API_PREFIX)))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
