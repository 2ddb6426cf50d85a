"""Exchange sessions: always open (the default) or a real exchange calendar (``--calendar XNYS``).

The default keeps the gateway independent of the wall clock: weekdays are trading days, regular
hours 09:30-16:00 New York, and the live session opens and closes only when told (``close``/``open``
controls). With a calendar (the ``exchange_calendars`` library: holidays and early closes
included, e.g. 2026-11-27 closes at 13:00) history has no bars on holidays and ends early on early
closes, and the live session follows the calendar on the gateway's clock, which a control moves to
a session's open or close (``clock open|close [yyyymmdd]``) so tests need not wait for the wall clock.

One calendar is in force per process (history is computed by module functions); a gateway installs
its calendar when it starts and removes it when it stops.
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
EXTENDED_OPEN, EXTENDED_CLOSE = dt.time(4, 0), dt.time(20, 0)
EARLY_CLOSE_EXTENDED = dt.time(17, 0)  # after a 13:00 close, extended hours end at 17:00
FIRST_DAY = "1990-01-02"


class ExchangeCalendar:
    """Sessions of one exchange from ``exchange_calendars`` (e.g. ``XNYS``)."""

    def __init__(self, code: str) -> None:
        import exchange_calendars  # only needed with --calendar (it pulls in pandas)

        today = dt.date.today()
        self.code = code
        with warnings.catch_warnings():  # pandas 3 deprecation notices from inside the library
            warnings.simplefilter("ignore")
            self._calendar = exchange_calendars.get_calendar(
                code, start=FIRST_DAY, end=(today + dt.timedelta(days=366)).isoformat()
            )
            self._sessions = {ts.date() for ts in self._calendar.sessions}
            opens, closes = self._calendar.schedule["open"], self._calendar.schedule["close"]
            self._bounds = {
                day.date(): (o.to_pydatetime().astimezone(NEW_YORK), c.to_pydatetime().astimezone(NEW_YORK))
                for day, o, c in zip(self._calendar.sessions, opens, closes, strict=True)
            }

    def is_trading_day(self, day: dt.date) -> bool:
        return day in self._sessions

    def regular(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The regular session of ``day`` in New York time, or None on a holiday or weekend."""
        return self._bounds.get(day)

    def bounds(self, day: dt.date, use_rth: bool) -> tuple[dt.datetime, dt.datetime] | None:
        regular = self.regular(day)
        if regular is None or use_rth:
            return regular
        early = regular[1].time() < dt.time(16, 0)
        end = EARLY_CLOSE_EXTENDED if early else EXTENDED_CLOSE
        return dt.datetime.combine(day, EXTENDED_OPEN, NEW_YORK), dt.datetime.combine(day, end, NEW_YORK)

    def is_open(self, when: dt.datetime) -> bool:
        regular = self.regular(when.astimezone(NEW_YORK).date())
        return regular is not None and regular[0] <= when < regular[1]

    def session_on_or_after(self, day: dt.date) -> dt.date:
        for offset in range(30):
            candidate = day + dt.timedelta(days=offset)
            if candidate in self._sessions:
                return candidate
        raise ValueError(f"no {self.code} session within 30 days of {day}")


_ACTIVE: ExchangeCalendar | None = None


def active() -> ExchangeCalendar | None:
    """The calendar in force, or None (always open on weekdays)."""
    return _ACTIVE


def install(calendar: ExchangeCalendar | None) -> None:
    global _ACTIVE
    _ACTIVE = calendar


@functools.lru_cache(maxsize=4)
def load(code: str) -> ExchangeCalendar:
    """A calendar by its ISO 10383 code (XNYS, XNAS, ...), built once per process."""
    return ExchangeCalendar(code.upper())
