"""The feed: reads the activity log from a cursor and queues what is worth a message.

The activity row is the source of truth: nothing here runs when an entry is written, so a dead Redis
or cluster loses nothing; the next step reads from the cursor. The cursor row is locked for the
step, so two cluster workers never queue the same entry twice. Ids below the cursor that were not
there yet (a transaction that committed after a later id did, on PostgreSQL) are kept as holes and
read again for HOLE_TTL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils.dateparse import parse_datetime

from trading.models import ActivityEntry, ActivityKind, NotifyCursor, NotifyKind
from trading.notify.messages import item_from_entry
from trading.notify.outbox import outbox_add
from trading.notify.rules import entry_kind
from trading.notify.targets import target_list
from trading.notify.watch import summary_due, watch_connection, watch_disconnects, watch_heartbeats

BATCH = 500
HOLE_TTL = timedelta(minutes=10)
MAX_HOLES = 1000


def cursor_lock() -> NotifyCursor:
    """The cursor row, locked until the transaction ends; made on first use at the log's end (a new
    install does not message the past)."""
    cursor = NotifyCursor.objects.select_for_update().filter(pk=1).first()
    if cursor is None:
        last = ActivityEntry.objects.aggregate(last=Max("pk"))["last"] or 0
        NotifyCursor.objects.get_or_create(pk=1, defaults={"last_entry_id": last})
        cursor = NotifyCursor.objects.select_for_update().get(pk=1)
    return cursor


def feed_step(*, now: datetime) -> int:
    """Queue messages for new entries, lasting disconnects and the daily summary; returns entries read."""
    with transaction.atomic():
        cursor = cursor_lock()
        entries = _read(cursor, now=now)
        for entry in entries:
            _feed_entry(cursor, entry, now=now)
        for item in [*watch_heartbeats(cursor, now=now), *watch_disconnects(cursor, now=now)]:
            queue(NotifyKind.DISCONNECTED, item, now=now)
        summary = summary_due(cursor, now=now)
        if summary is not None:
            queue(NotifyKind.DAILY_SUMMARY, summary, now=now)
        cursor.save()
    return len(entries)


def queue(kind: str, item: dict, *, now: datetime) -> None:
    for target in target_list(kind):
        outbox_add(target=target, kind=kind, item=item, now=now)


def _read(cursor: NotifyCursor, *, now: datetime) -> list[ActivityEntry]:
    fresh = list(ActivityEntry.objects.select_related("run").filter(pk__gt=cursor.last_entry_id).order_by("pk")[:BATCH])
    late = []
    if cursor.holes:
        late = list(ActivityEntry.objects.select_related("run").filter(pk__in=[int(k) for k in cursor.holes]))
        for entry in late:
            del cursor.holes[str(entry.pk)]
    expected = cursor.last_entry_id + 1
    for entry in fresh:
        for missing in range(expected, entry.pk):
            if len(cursor.holes) < MAX_HOLES:
                cursor.holes[str(missing)] = now.isoformat()
        expected = entry.pk + 1
    cursor.holes = {k: seen for k, seen in cursor.holes.items() if now - parse_datetime(seen) < HOLE_TTL}
    if fresh:
        cursor.last_entry_id = fresh[-1].pk
    return sorted(late + fresh, key=lambda entry: entry.pk)


def _feed_entry(cursor: NotifyCursor, entry: ActivityEntry, *, now: datetime) -> None:
    if entry.kind == ActivityKind.CONNECTION:
        back = watch_connection(cursor, entry)
        if back is not None:
            queue(NotifyKind.DISCONNECTED, back, now=now)
        return
    kind = entry_kind(entry)
    if kind is not None:
        queue(kind, item_from_entry(entry, kind), now=now)
