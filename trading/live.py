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


def worker_channel(connection: str = "default") -> str:
    """The named channel the IB worker listens on for commands (run an intent, reload handlers, the
    order ticket's quote and preview: see `worker_request`). One per IB connection: the default
    connection's keeps its name; two workers never share a channel (each message reaches only one)."""
    if connection == "default":
        return f"{settings.CONSOLE_PREFIX}.worker"
    return f"{settings.CONSOLE_PREFIX}.worker.{connection}"


def worker_command_send(command: dict, *, connection: str = "default") -> None:
    """Send a command to a connection's worker (the default's unless named) from sync code (q2 tasks,
    admin actions); failures raise."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    async_to_sync(get_channel_layer().send)(worker_channel(connection), command)


# ----- requests to the worker that wait for an answer (the order ticket's quote and preview) ----------

QUOTE_TIMEOUT = 5.0  # seconds the web waits for the worker's quote
PREVIEW_TIMEOUT = 10.0  # seconds the web waits for the worker's preview (checks and IB's what-if)
WORKER_REQUESTS = ("order.quote", "order.preview")
WORKER_REPLY_TYPE = "worker.reply"


async def worker_request(command: dict, *, timeout: float, connection: str = "default") -> dict | None:
    """Send `command` to a connection's worker (the default's unless named) with a fresh reply channel
    and wait for its one answer.

    Returns the answer's `answer` dict, or None when none came within `timeout` (the worker is down,
    Redis is down, or the worker is slow). The command carries its `deadline` (epoch seconds), so a
    worker that picks it up late drops it instead of answering nobody."""
    import time

    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    try:
        reply_to = await layer.new_channel()
        await layer.send(worker_channel(connection), {**command, "reply_to": reply_to, "deadline": time.time() + timeout})
    except (OSError, ConnectionError):
        return None
    except Exception as exc:  # channels_redis wraps Redis outages in its own types
        if type(exc).__module__.startswith(("redis", "channels")):
            return None
        raise
    return await _answer_receive(reply_to, timeout)


async def _answer_receive(reply_to: str, timeout: float) -> dict | None:
    """The worker's one answer on `reply_to`, or None when none came within `timeout` or Redis is down."""
    import asyncio

    from channels.layers import get_channel_layer

    try:
        reply = await asyncio.wait_for(get_channel_layer().receive(reply_to), timeout)
    except (TimeoutError, OSError, ConnectionError):
        return None
    except Exception as exc:  # channels_redis wraps Redis outages in its own types
        if type(exc).__module__.startswith(("redis", "channels")):
            return None
        raise
    return reply.get("answer") if isinstance(reply, dict) else None


def reply_channel_new() -> str:
    """A new reply channel's name, for sync code that will hand it to the worker (run_submit's `reply_to`).

    Channel layers make the name without I/O (an `async def` that never awaits), so the coroutine is
    run to its end here; a thread hop to an event loop (asgiref's async_to_sync) would add a millisecond
    or more to every waiting API call. A layer that does await for it is asked through async_to_sync."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    coroutine = layer.new_channel()
    try:
        coroutine.send(None)
    except StopIteration as made:
        return made.value
    coroutine.close()
    return async_to_sync(layer.new_channel)()


def worker_reply_receive(reply_to: str, *, timeout: float) -> dict | None:
    """From sync code: the worker's one answer on `reply_to` (a command sent with it), or None when none
    came within `timeout` or Redis is down, as `worker_request` answers."""
    from asgiref.sync import async_to_sync

    return async_to_sync(_answer_receive)(reply_to, timeout)


async def worker_reply(command: dict, answer: dict) -> None:
    """The worker's side of `worker_request`: send `answer` to the command's reply channel."""
    from channels.layers import get_channel_layer

    await get_channel_layer().send(command["reply_to"], {"type": WORKER_REPLY_TYPE, "answer": answer})


def worker_request_expired(command: dict) -> bool:
    """True when the web has stopped waiting for this command (its deadline has passed)."""
    import time

    deadline = command.get("deadline")
    return isinstance(deadline, int | float) and time.time() > deadline
