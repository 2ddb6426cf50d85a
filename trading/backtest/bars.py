"""Stored bars: what a backtest sees, when it may see it, and where the store has holes.

A bar is visible from its `end` on (a daily bar at 16:00 New York, a 30-minute bar thirty minutes after
it opened). `BarSeries` holds one key's bars in memory, sorted by end, so asking "what was visible at
t" is a bisection — never a bar whose end is after t.

Durations read as IB's `durationStr` does on the paper gateway (trading/ibsim/history.py): D, W, M, Y
count sessions back (1, 5, 21, 252 per unit), S counts seconds.

CSV import (`bars_import_csv`) takes a header row with these columns, any order, extra columns
ignored: `date` (YYYY-MM-DD for daily bars, else an ISO date-time — naive times are New York time —
the bar's opening time), `open`, `high`, `low`, `close`, and optionally `volume`.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import math
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import transaction

from trading.models import Bar

NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC
SESSION_OPEN = dt.time(9, 30)
SESSION_CLOSE = dt.time(16, 0)
SESSIONS_PER_UNIT = {"D": 1, "W": 5, "M": 21, "Y": 252}
BAR_SECONDS = {
    "1 min": 60, "2 mins": 120, "3 mins": 180, "5 mins": 300, "10 mins": 600, "15 mins": 900,
    "20 mins": 1200, "30 mins": 1800, "1 hour": 3600, "2 hours": 7200, "3 hours": 10800, "4 hours": 14400,
    "1 day": 86400,
}  # fmt: skip
# A market holiday is one missing weekday; two or more in a row is a hole in the store.
GAP_WEEKDAYS = 2
CSV_COLUMNS = ("date", "open", "high", "low", "close")
BAD_BAR_SIZE = "unknown bar size {bar_size!r}; one of: {known}"
BAD_DURATION = "cannot read duration {text!r} (like '200 D', '5 D', '1 Y', '3600 S')"
CSV_MISSING_COLUMNS = "{path}: the header has no {missing} column(s); it needs date, open, high, low, close[, volume]"
CSV_BAD_ROW = "{path} line {line}: {error}"


@dataclass(frozen=True, slots=True)
class StoredBar:
    """A bar as a strategy reads it: the fields of ib_insync's BarData it uses (`date` is a date for
    daily bars, an aware datetime otherwise)."""

    date: dt.date | dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    start: dt.datetime
    end: dt.datetime

    @property
    def session(self) -> dt.date:
        return self.date if not isinstance(self.date, dt.datetime) else self.date.astimezone(NEW_YORK).date()


def bar_seconds(bar_size: str) -> int:
    try:
        return BAR_SECONDS[bar_size]
    except KeyError:
        raise ValueError(BAD_BAR_SIZE.format(bar_size=bar_size, known=", ".join(BAR_SECONDS))) from None


def bar_bounds(bar_size: str, opened: dt.date | dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(start, end) in UTC of a bar: a daily bar spans the regular session of its date."""
    if bar_seconds(bar_size) >= 86400:
        day = opened if not isinstance(opened, dt.datetime) else opened.astimezone(NEW_YORK).date()
        start = dt.datetime.combine(day, SESSION_OPEN, NEW_YORK)
        return start.astimezone(UTC), dt.datetime.combine(day, SESSION_CLOSE, NEW_YORK).astimezone(UTC)
    start = opened if isinstance(opened, dt.datetime) else dt.datetime.combine(opened, SESSION_OPEN, NEW_YORK)
    start = start if start.tzinfo else start.replace(tzinfo=NEW_YORK)
    return start.astimezone(UTC), (start + dt.timedelta(seconds=bar_seconds(bar_size))).astimezone(UTC)


def parse_duration(text: str) -> tuple[int, str]:
    parts = str(text).split()
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in (*SESSIONS_PER_UNIT, "S"):
        raise ValueError(BAD_DURATION.format(text=text))
    return int(parts[0]), parts[1]


class BarSeries:
    """One key's bars, sorted by end; `visible(t)` never returns a bar that ends after t."""

    def __init__(self, bars: list[StoredBar]):
        self.bars = bars
        self.ends = [bar.end for bar in bars]
        self.sessions = [bar.session for bar in bars]

    def count_visible(self, now: dt.datetime) -> int:
        return bisect.bisect_right(self.ends, now)

    def window(self, now: dt.datetime, duration: str, bar_size: str) -> list[StoredBar]:
        """The bars a history request of `duration` made at `now` gets: the last N sessions' bars."""
        count, unit = parse_duration(duration)
        upto = self.count_visible(now)
        if upto == 0:
            return []
        if unit == "S":
            wanted = max(1, math.ceil(count / bar_seconds(bar_size)))
            return self.bars[max(0, upto - wanted) : upto]
        sessions = count * SESSIONS_PER_UNIT[unit]
        first_session = self._session_back(upto, sessions)
        lo = bisect.bisect_left(self.sessions, first_session, 0, upto)
        return self.bars[lo:upto]

    def _session_back(self, upto: int, sessions: int) -> dt.date:
        """The first of the last `sessions` distinct session dates among bars[:upto]."""
        seen, i, day = 0, upto - 1, self.sessions[upto - 1]
        while i >= 0 and seen < sessions:
            day = self.sessions[i]
            seen += 1
            i = bisect.bisect_left(self.sessions, day, 0, i + 1) - 1
        return day

    def next_after(self, moment: dt.datetime) -> StoredBar | None:
        """The first bar that ends after `moment` (the bar a next-open order fills in)."""
        i = bisect.bisect_right(self.ends, moment)
        return self.bars[i] if i < len(self.bars) else None

    def last_at(self, now: dt.datetime) -> StoredBar | None:
        i = self.count_visible(now)
        return self.bars[i - 1] if i else None


def bars_load(*, symbol: str, bar_size: str, what_to_show: str = "TRADES", until: dt.datetime | None = None) -> BarSeries:
    """A key's stored bars (all of them up to `until`, which is when the run ends)."""
    daily = bar_seconds(bar_size) >= 86400
    rows = Bar.objects.filter(symbol=symbol, bar_size=bar_size, what_to_show=what_to_show)
    if until is not None:
        rows = rows.filter(start__lte=until)
    bars = []
    for start, end, o, h, lo, c, v in rows.order_by("end", "start").values_list(
        "start", "end", "open", "high", "low", "close", "volume"
    ):
        opened = start.astimezone(NEW_YORK)
        bars.append(StoredBar(opened.date() if daily else opened, o, h, lo, c, v, start, end))
    return BarSeries(bars)


def bars_store(*, symbol: str, bar_size: str, what_to_show: str, rows: list[dict], source: str) -> int:
    """Insert or replace bars (rows: date/open/high/low/close/volume); returns how many were written."""
    objects = []
    for row in rows:
        start, end = bar_bounds(bar_size, row["date"])
        objects.append(
            Bar(
                symbol=symbol, bar_size=bar_size, what_to_show=what_to_show, start=start, end=end,
                open=float(row["open"]), high=float(row["high"]), low=float(row["low"]), close=float(row["close"]),
                volume=float(row.get("volume") or 0), source=source,
            )
        )  # fmt: skip
    with transaction.atomic():
        Bar.objects.filter(
            symbol=symbol, bar_size=bar_size, what_to_show=what_to_show, start__in=[o.start for o in objects]
        ).delete()
        Bar.objects.bulk_create(objects, batch_size=1000)
    return len(objects)


def bars_import_csv(*, path: str | Path, symbol: str, bar_size: str, what_to_show: str = "TRADES") -> int:
    """Store the bars of a CSV file (columns in this module's docstring); nothing is stored on a bad row."""
    path = Path(path)
    daily = bar_seconds(bar_size) >= 86400
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = {name.strip().lower(): name for name in reader.fieldnames or []}
        missing = [c for c in CSV_COLUMNS if c not in header]
        if missing:
            raise ValueError(CSV_MISSING_COLUMNS.format(path=path, missing=", ".join(missing)))
        rows = []
        for line, raw in enumerate(reader, start=2):
            try:
                when = raw[header["date"]].strip()
                rows.append(
                    {
                        "date": dt.date.fromisoformat(when[:10]) if daily else dt.datetime.fromisoformat(when),
                        **{c: float(raw[header[c]]) for c in ("open", "high", "low", "close")},
                        "volume": float(raw[header["volume"]] or 0) if "volume" in header else 0.0,
                    }
                )
            except (ValueError, TypeError) as exc:
                raise ValueError(CSV_BAD_ROW.format(path=path, line=line, error=exc)) from None
    return bars_store(symbol=symbol, bar_size=bar_size, what_to_show=what_to_show, rows=rows, source="csv")


def session_gaps(sessions: list[dt.date], first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The holes in [first, last], (from, to) each: runs of GAP_WEEKDAYS or more weekdays with no bar,
    and — for intraday bars, where `sessions` holds a day once per bar — days with fewer than half the
    usual count of bars (an early close still has more than half)."""
    gaps = _empty_runs(set(sessions), first, last)
    gaps += [(day, day) for day in _thin_sessions(sessions) if first <= day <= last]
    return sorted(gaps)


def _thin_sessions(sessions: list[dt.date]) -> list[dt.date]:
    counts = Counter(sessions)
    if not counts or max(counts.values()) == 1:
        return []
    usual = statistics.median(counts.values())
    return [day for day, count in counts.items() if count < usual / 2]


def _empty_runs(have: set, first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    gaps, run = [], []
    day = first
    while day <= last:
        if day.weekday() < 5:
            if day in have:
                if len(run) >= GAP_WEEKDAYS:
                    gaps.append((run[0], run[-1]))
                run = []
            else:
                run.append(day)
        day += dt.timedelta(days=1)
    if len(run) >= GAP_WEEKDAYS:
        gaps.append((run[0], run[-1]))
    return gaps


def weekdays_back(day: dt.date, count: int) -> dt.date:
    """The weekday `count` weekdays back from `day` (counting `day` itself when it is a weekday)."""
    seen = 0
    while True:
        if day.weekday() < 5:
            seen += 1
            if seen >= count:
                return day
        day -= dt.timedelta(days=1)


def bars_missing(
    *, symbol: str, bar_size: str, what_to_show: str, first: dt.date, last: dt.date
) -> list[tuple[dt.date, dt.date]]:
    """The holes of a key's store in [first, last]: runs of GAP_WEEKDAYS or more weekdays with no bar."""
    lo = dt.datetime.combine(first, dt.time(0), NEW_YORK)
    hi = dt.datetime.combine(last, dt.time(23, 59, 59), NEW_YORK)
    starts = Bar.objects.filter(
        symbol=symbol, bar_size=bar_size, what_to_show=what_to_show, start__gte=lo, start__lte=hi
    ).values_list("start", flat=True)
    return session_gaps([start.astimezone(NEW_YORK).date() for start in starts], first, last)
