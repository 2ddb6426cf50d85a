"""Live events: the one place that names the Channels group and shapes what the dashboard receives.

Schema (version 1), sent as the `event` of a Channels message of type `live.event`, or several at once
as the `events` of a `live.batch` message (the worker's broadcaster: one Redis round trip per burst):

    {"v": 1, "type": "order.status", "time": "2026-11-21T14:30:00.123456+00:00", "mode": "paper",
     "payload": {...}}

The worker's broadcaster adds `seq` (1, 2, 3, … per worker run) and `epoch` (which run): a client that
sees a gap in `seq` within one epoch missed a push and should resync from a fresh snapshot.

Types: `connection.state`, `order.status`, `fill.new`, `position.update`, `account.value`, `pnl.update`,
`ticker.update`, `activity.new`, `run.update`, `handler.error`, `worker.heartbeat`. Payload keys are
snake_case; decimals are strings; times are ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings

SCHEMA_VERSION = 1
CHANNEL_MESSAGE_TYPE = "live.event"  # handled by a consumer's `live_event` method
CHANNEL_BATCH_TYPE = "live.batch"  # handled by a consumer's `live_batch` method


def live_group(mode: str | None = None) -> str:
    """The Channels group every dashboard socket joins (one per console installation)."""
    return f"{settings.CONSOLE_PREFIX}.live"


def session_group(session_key: str) -> str:
    """The group of every socket opened under one signed-in session (closed together at logout)."""
    return f"{settings.CONSOLE_PREFIX}.session.{session_key}"


def live_event(event_type: str, payload: dict, *, mode: str = "", time: datetime | None = None) -> dict:
    return {
        "v": SCHEMA_VERSION,
        "type": event_type,
        "time": (time or datetime.now(UTC)).isoformat(),
        "mode": mode,
        "payload": payload,
    }


def channel_message(event: dict) -> dict:
    return {"type": CHANNEL_MESSAGE_TYPE, "event": event}


def channel_batch_message(events: list[dict]) -> dict:
    """Several events in one Channels message, in order; a socket forwards them one by one."""
    return {"type": CHANNEL_BATCH_TYPE, "events": events}


def worker_channel() -> str:
    """The named channel the IB worker listens on for commands (run an intent, reload handlers)."""
    return f"{settings.CONSOLE_PREFIX}.worker"


def worker_command_send(command: dict) -> None:
    """Send a command to the worker from sync code (q2 tasks, admin actions); failures raise."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    async_to_sync(get_channel_layer().send)(worker_channel(), command)
