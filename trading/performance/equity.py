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
    """Keep one row per account and display-zone day (its last) for the days before the last `minute_days`
    days, of one connection's rows (each worker compacts its own)."""
    now = now or timezone.now()
    days = settings.EQUITY_MINUTE_DAYS if minute_days is None else minute_days
    cut, _ = day_bounds(local_day(now) - dt.timedelta(days=days - 1))
    rows = EquitySnapshot.objects.filter(mode=mode, connection=connection)
    old = rows.filter(taken_at__lt=cut, resolution=EquityResolution.MINUTE)
    last_of_day: dict[tuple[str, dt.date], int] = {}
    for pk, account, taken_at in old.order_by("taken_at", "id").values_list("pk", "account", "taken_at"):
        last_of_day[(account, local_day(taken_at))] = pk
    keep = set(last_of_day.values())
    # A day compacted before may get a late minute row (a worker's clock): its day row stays the day's.
    for account, day in list(last_of_day):
        start, end = day_bounds(day)
        day_row = rows.filter(account=account, resolution=EquityResolution.DAY, taken_at__gte=start, taken_at__lt=end)
        if day_row.exists():
            keep.discard(last_of_day[(account, day)])
    old.exclude(pk__in=keep).delete()
    EquitySnapshot.objects.filter(pk__in=keep).update(resolution=EquityResolution.DAY)
    return []


def equity_curve(
    *, mode: str, account: str | None = None, since: dt.date | None = None, until: dt.date | None = None
) -> list[EquitySnapshot]:
    """The mode's snapshots (one account's, or every account's), oldest first."""
    rows = EquitySnapshot.objects.filter(mode=mode)
    if account:
        rows = rows.filter(account=account)
    if since:
        rows = rows.filter(taken_at__gte=day_bounds(since)[0])
    if until:
        rows = rows.filter(taken_at__lt=day_bounds(until)[1])
    return list(rows.order_by("taken_at", "id"))


class CurrenciesDiffer(ValueError):
    """Accounts of different base currencies: their net liquidations do not add up."""


def equity_sum(rows: list[EquitySnapshot]) -> list[tuple[dt.datetime, float, float | None, str]]:
    """(taken_at, net liquidation, daily P&L, currency) over every account in `rows` (oldest first): at
    each point, each account's latest value so far, summed (an account counts from its first point on).
    One account's rows come back as they are. CurrenciesDiffer when the accounts' currencies differ."""
    currencies = {r.currency for r in rows if r.currency}
    if len(currencies) > 1:
        raise CurrenciesDiffer(
            f"the accounts report net liquidation in different currencies ({', '.join(sorted(currencies))}): "
            "they cannot be summed; choose one account"
        )
    latest: dict[str, EquitySnapshot] = {}
    points = []
    for row in rows:
        latest[row.account] = row
        pnls = [r.daily_pnl for r in latest.values()]
        points.append(
            (
                row.taken_at,
                sum(float(r.net_liquidation) for r in latest.values()),
                None if any(p is None for p in pnls) else sum(float(p) for p in pnls),
                row.currency,
            )
        )
    return points


def daily_closes(rows: list[EquitySnapshot]) -> dict[dt.date, float]:
    """The last net liquidation of each display-zone day (rows oldest first), summed over the accounts."""
    closes: dict[dt.date, float] = {}
    for taken_at, net_liquidation, _, _ in equity_sum(rows):
        closes[local_day(taken_at)] = net_liquidation
    return closes


def daily_returns(rows: list[EquitySnapshot]) -> list[float]:
    """Each day's return over the previous day's close, over the accounts that had a close by then: an
    account whose history starts (its first deposit into the sum) is not a gain. One account: close over
    close, as metrics.daily_returns."""
    by_account: dict[str, dict[dt.date, float]] = {}
    for row in rows:
        by_account.setdefault(row.account, {})[local_day(row.taken_at)] = float(row.net_liquidation)
    days = sorted({day for closes in by_account.values() for day in closes})
    returns = []
    for before, day in zip(days, days[1:], strict=False):
        start = end = 0.0
        for closes in by_account.values():
            known = [d for d in closes if d <= before]
            if known:
                start += closes[max(known)]
                end += closes[max(d for d in closes if d <= day)]
        if start > 0:
            returns.append(end / start - 1)
    return returns
