"""Equity snapshots: written by the worker, compacted with age, read as the equity curve.

A snapshot's life::

    worker connected ── every EQUITY_SNAPSHOT_SECONDS, and FILL_SETTLE s after each fill ──▶ minute row
    minute row older than EQUITY_MINUTE_DAYS (display-zone days) ── compaction ──▶ the day's last row
                                                                                  becomes its day row,
                                                                                  the others are deleted

So recent days draw at minute resolution and a year costs ~365 rows. The compaction is idempotent and
runs from the worker (on connect, then hourly) through its recorder, ordered with every other write.
These are the database functions; the worker side is trading/worker/equity.py.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from trading.clock import day_bounds, local_day
from trading.models import DEFAULT_CONNECTION, EquityResolution, EquitySnapshot


def equity_record(*, mode: str, snap: dict, connection: str = DEFAULT_CONNECTION) -> list:
    """On the recorder thread: one snapshot row (no live event: the page draws pnl.update itself)."""
    EquitySnapshot.objects.create(mode=mode, connection=connection, **snap)
    return []


def equity_compact(
    *, mode: str, now: dt.datetime | None = None, minute_days: int | None = None, connection: str = DEFAULT_CONNECTION
) -> list:
    """Keep one row per display-zone day (its last) for the days before the last `minute_days` days, of
    one connection's rows (each worker compacts its own: another gateway's day is another account's)."""
    now = now or timezone.now()
    days = settings.EQUITY_MINUTE_DAYS if minute_days is None else minute_days
    cut, _ = day_bounds(local_day(now) - dt.timedelta(days=days - 1))
    rows = EquitySnapshot.objects.filter(mode=mode, connection=connection)
    old = rows.filter(taken_at__lt=cut, resolution=EquityResolution.MINUTE)
    last_of_day: dict[dt.date, int] = {}
    for pk, taken_at in old.order_by("taken_at", "id").values_list("pk", "taken_at"):
        last_of_day[local_day(taken_at)] = pk
    keep = set(last_of_day.values())
    # A day compacted before may get a late minute row (a worker's clock): its day row stays the day's.
    for day in list(last_of_day):
        start, end = day_bounds(day)
        if rows.filter(resolution=EquityResolution.DAY, taken_at__gte=start, taken_at__lt=end).exists():
            keep.discard(last_of_day[day])
    old.exclude(pk__in=keep).delete()
    EquitySnapshot.objects.filter(pk__in=keep).update(resolution=EquityResolution.DAY)
    return []


def equity_curve(*, mode: str, since: dt.date | None = None, until: dt.date | None = None) -> list[EquitySnapshot]:
    rows = EquitySnapshot.objects.filter(mode=mode)
    if since:
        rows = rows.filter(taken_at__gte=day_bounds(since)[0])
    if until:
        rows = rows.filter(taken_at__lt=day_bounds(until)[1])
    return list(rows.order_by("taken_at", "id"))


def daily_closes(rows: list[EquitySnapshot]) -> dict[dt.date, float]:
    """The last net liquidation of each display-zone day (rows oldest first)."""
    closes: dict[dt.date, float] = {}
    for row in rows:
        closes[local_day(row.taken_at)] = float(row.net_liquidation)
    return closes
