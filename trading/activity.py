"""Writing to the append-only activity log. Every other module records through `activity_record` (or,
to insert many at once, builds entries with `activity_entry` and bulk-creates them: the recorder)."""

from __future__ import annotations

import logging

from django.db import transaction

from trading.models import DEFAULT_CONNECTION, ActivityEntry
from trading.models.activity import Severity

log = logging.getLogger("trading.activity")


def activity_record(**fields) -> ActivityEntry:
    """Write one entry now; the fields are `activity_entry`'s."""
    return activity_save(activity_entry(**fields))


def activity_save(entry: ActivityEntry) -> ActivityEntry:
    """Write an entry `activity_entry` built, now, and wake the notifier if it may be worth a message."""
    entry.save()
    activity_notify([entry])
    return entry


def activity_written(entry: ActivityEntry) -> None:
    """An entry built with `logged=False` and written by other means (trading/dbwrites.py, one statement
    with the row it is about): logged now that it is written, and the notifier woken if it may matter."""
    activity_log(entry)
    activity_notify([entry])


def activity_notify(entries: list[ActivityEntry]) -> None:
    """After commit, wake the notifier early when an entry may be worth a message. The notifier reads
    the log from its own cursor (trading/notify/feed.py), so this is only a hint: `robust` and a kick
    that never raises keep a dead Redis or cluster from failing the write."""
    from trading.notify.rules import entry_may_notify

    if any(entry_may_notify(entry) for entry in entries):
        from trading.notify.tasks import notify_kick

        transaction.on_commit(notify_kick, robust=True)


def activity_entry(
    *,
    kind: str,
    message: str,
    severity: str = Severity.INFO,
    mode: str = "",
    strategy: str = "",
    run=None,
    connection: str | None = None,
    account: str | None = None,
    run_id: int | None = None,
    actor=None,
    payload: dict | None = None,
    logged: bool = True,
) -> ActivityEntry:
    """An entry not yet saved (logged now, unless not `logged`: then `activity_log` it once it is
    written): for `activity_record`, or for a bulk insert.

    `connection` and `account`: what the entry is about; not given, the run's (an entry of a run), else
    the default connection and no account (a console-wide entry: a config change, a sign-in)."""
    entry = ActivityEntry(
        kind=kind,
        severity=severity,
        mode=mode,
        connection=connection or getattr(run, "connection", "") or DEFAULT_CONNECTION,
        account=account if account is not None else getattr(run, "account", "") or "",
        strategy=strategy,
        run_id=run.pk if run is not None else run_id,
        actor=actor,
        message=message[:500],
        payload=payload or {},
    )
    if logged:
        activity_log(entry)
    return entry


def activity_log(entry: ActivityEntry) -> None:
    """The entry in the process's log (what `activity_entry` does at once unless told not to)."""
    log.log(logging.WARNING if entry.severity != Severity.INFO else logging.INFO, "[%s] %s", entry.kind, entry.message)
