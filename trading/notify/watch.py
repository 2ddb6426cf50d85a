"""Things a message is owed for that no single entry says: a disconnect that lasts, and the day's end.

Disconnects: CONNECTION entries (payload {state}, trading/worker/service.py `_record_state`) open a
watch per mode when the worker reports disconnected / ib_link_down / stopped and close it on connected.
A worker that dies writes no entry, so a heartbeat row silent for NOTIFY_DISCONNECT_SECONDS opens the
same watch (unless an entry already did), and a fresh heartbeat closes the watch it opened. A watch
open longer than NOTIFY_DISCONNECT_SECONDS sends one message; its close then sends "back". The state
lives on the cursor row, so a cluster restart does not forget an open disconnect.

Daily summary: once per display-zone day, the first step at or after NOTIFY_DAILY_SUMMARY_AT.
"""

from __future__ import annotations

from datetime import datetime, time

from django.conf import settings
from django.utils.dateparse import parse_datetime

from trading.clock import display_zone, local_text
from trading.models import ActivityEntry, NotifyCursor, WorkerHeartbeat
from trading.notify.messages import item_make
from trading.notify.summary import daily_summary_item

DOWN_STATES = {"disconnected", "ib_link_down", "stopped"}
UP_STATE = "connected"


def watch_connection(cursor: NotifyCursor, entry: ActivityEntry) -> dict | None:
    """Open or close the mode's watch; returns a "back" item when a disconnect that was told about ends."""
    state, mode = (entry.payload or {}).get("state"), entry.mode or "worker"
    open_watch = cursor.watch.get(mode)
    if state in DOWN_STATES and open_watch is None:
        cursor.watch[mode] = {"since": entry.created_at.isoformat(), "message": entry.message, "told": False}
    elif state == UP_STATE and open_watch is not None:
        del cursor.watch[mode]
        if open_watch["told"]:
            seconds = (entry.created_at - parse_datetime(open_watch["since"])).total_seconds()
            return _back_item(mode, seconds, entry.message, entry.created_at, entry.pk)
    return None


def watch_heartbeats(cursor: NotifyCursor, *, now: datetime) -> list[dict]:
    """Open a watch for a silent heartbeat; close the ones a fresh heartbeat ends ("back" items)."""
    limit, back = settings.NOTIFY_DISCONNECT_SECONDS, []
    for row in WorkerHeartbeat.objects.all():
        mode = row.mode or "worker"
        silent = (now - row.updated_at).total_seconds() >= limit
        open_watch = cursor.watch.get(mode)
        if silent and open_watch is None:
            cursor.watch[mode] = {
                "since": row.updated_at.isoformat(),
                "message": f"no heartbeat from the IB worker ({row.name}, pid {row.pid}): it may have crashed",
                "told": False,
                "heartbeat": True,
            }
        elif not silent and open_watch is not None and open_watch.get("heartbeat"):
            del cursor.watch[mode]
            if open_watch["told"]:
                seconds = (row.updated_at - parse_datetime(open_watch["since"])).total_seconds()
                back.append(_back_item(mode, seconds, "the IB worker's heartbeat is back", row.updated_at))
    return back


def _back_item(mode: str, seconds: float, message: str, moment: datetime, entry: int | None = None) -> dict:
    return item_make(
        title=f"Worker reconnected [{mode}] after {_duration(seconds)}",
        line=f"{mode}: reconnected after {_duration(seconds)}",
        body=f"{message}\nat {local_text(moment)}",
        entry=entry,
    )


def watch_disconnects(cursor: NotifyCursor, *, now: datetime) -> list[dict]:
    """Items for every open watch older than NOTIFY_DISCONNECT_SECONDS not yet told (marks them told)."""
    items = []
    for mode, open_watch in cursor.watch.items():
        since = parse_datetime(open_watch["since"])
        seconds = (now - since).total_seconds()
        if open_watch["told"] or seconds < settings.NOTIFY_DISCONNECT_SECONDS:
            continue
        open_watch["told"] = True
        items.append(
            item_make(
                title=f"Worker disconnected [{mode}] for {_duration(seconds)}",
                line=f"{mode}: disconnected since {local_text(since)}",
                body=f"{open_watch['message']}\nsince {local_text(since)}; no order can reach IB until it reconnects",
                level="failure",
            )
        )
    return items


def summary_due(cursor: NotifyCursor, *, now: datetime) -> dict | None:
    """Today's summary item when the set time has passed and it was not sent today (marks the day)."""
    if not settings.NOTIFY_DAILY_SUMMARY_AT:
        return None
    local = now.astimezone(display_zone())
    at = time.fromisoformat(settings.NOTIFY_DAILY_SUMMARY_AT)
    if local.time() < at or cursor.summary_day == local.date():
        return None
    cursor.summary_day = local.date()
    return daily_summary_item(day=local.date())


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
