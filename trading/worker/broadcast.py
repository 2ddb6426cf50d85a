"""The broadcaster: recorded events go to the dashboard's Channels group, fast streams coalesced.

Order, fill and activity events are sent in order, whatever has queued up since the last send going
out as one Channels message (a burst of fills costs one Redis round trip, not one per event). Streams
that can fire hundreds of times a second (tickers, PnL, account values) keep only the latest value per
key and are flushed at a bounded rate, so a busy market never floods the browser or Redis. A Redis
outage costs live pushes only (the dashboard resyncs from the database on reconnect); each failure is
logged and counted. A push channels_redis refuses because a web process's queue is full ("over capacity": the pages of one
web process share one Redis list, so one slow process loses the push for all its pages) is counted as
`dropped` and logged as a warning; the pages see the gap in `seq` and resync.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import time

from channels.layers import get_channel_layer

from trading.live import channel_batch_message, live_group

log = logging.getLogger("trading.worker.broadcast")

COALESCED_TYPES = {"ticker.update", "pnl.update", "account.value", "position.update", "worker.heartbeat"}
FLUSH_INTERVAL = 0.25  # seconds: at most 4 updates a second per key
MAX_BATCH = 200  # events per Channels message


def coalesce_key(event: dict) -> tuple:
    payload = event["payload"]
    return (
        event["type"],
        payload.get("account", ""),
        payload.get("con_id", payload.get("symbol", "")),
        payload.get("tag", ""),
        payload.get("currency", ""),
    )


class OverCapacityCounter(logging.Filter):
    """channels_redis reports a group message it could not queue only as an INFO line on its logger:
    the broadcaster whose send logged it (a context variable set around each send) counts it instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        broadcaster = _sending.get()
        if broadcaster is not None and "over capacity" in str(record.msg) and record.args:
            broadcaster._on_dropped(int(record.args[0]))
            return False
        return True


CHANNELS_REDIS_LOGGER = logging.getLogger("channels_redis.core")
OVER_CAPACITY = OverCapacityCounter()
_sending: contextvars.ContextVar[Broadcaster | None] = contextvars.ContextVar("broadcaster_sending", default=None)


class Broadcaster:
    def __init__(self, *, flush_interval: float = FLUSH_INTERVAL):
        self.layer = get_channel_layer()
        self.group = live_group()
        self.flush_interval = flush_interval
        self.outbox: asyncio.Queue[dict] = asyncio.Queue()
        self.latest: dict[tuple, dict] = {}
        self.sent = 0
        self.failed = 0
        self.dropped = 0  # pushes a web process's full queue refused (per process queue, not per page)
        self.coalesced = 0
        self._last_failure_log = 0.0
        self._last_drop_log = 0.0
        # Every pushed event is numbered; a client that sees a gap (a dropped push) resyncs from a snapshot.
        self.epoch = f"{os.getpid()}-{int(time.time())}"
        self.seq = 0
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        # The send and flush loops both send: numbering and pushing under one lock keeps the pushes in
        # `seq` order (two interleaved group_sends could land out of order, and a page would resync for nothing).
        self._send_lock = asyncio.Lock()

    def publish(self, event: dict) -> None:
        """Queue an event for the group (non-blocking; callable from the loop only)."""
        if event["type"] in COALESCED_TYPES:
            key = coalesce_key(event)
            if key in self.latest:
                self.coalesced += 1
            self.latest[key] = event
        else:
            self.outbox.put_nowait(event)

    def _on_dropped(self, queues: int) -> None:
        self.dropped += queues
        now = time.monotonic()
        if now - self._last_drop_log > 10:
            self._last_drop_log = now
            log.warning(
                "live push refused: a web process's channel queue is full (%d dropped so far; pages resync)", self.dropped
            )

    def start(self) -> None:
        if OVER_CAPACITY not in CHANNELS_REDIS_LOGGER.filters:
            CHANNELS_REDIS_LOGGER.addFilter(OVER_CAPACITY)
        if not CHANNELS_REDIS_LOGGER.isEnabledFor(logging.INFO):
            CHANNELS_REDIS_LOGGER.setLevel(logging.INFO)  # its only report of a refused push is at INFO
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="broadcast-send"),
            asyncio.create_task(self._flush_loop(), name="broadcast-flush"),
        ]

    async def stop(self) -> None:
        # A flag as well as cancel(): redis-py can swallow a cancellation that lands inside group_send.
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.wait(self._tasks, timeout=2) if self._tasks else None
        await self._flush_latest()
        while not self.outbox.empty():
            await self._send(self._take([self.outbox.get_nowait()]))

    async def _send_loop(self) -> None:
        while not self._stopping:
            await self._send(self._take([await self.outbox.get()]))

    def _take(self, events: list[dict]) -> list[dict]:
        while len(events) < MAX_BATCH and not self.outbox.empty():
            events.append(self.outbox.get_nowait())
        return events

    async def _flush_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.flush_interval)
            await self._flush_latest()

    async def _flush_latest(self) -> None:
        pending, self.latest = list(self.latest.values()), {}
        for start in range(0, len(pending), MAX_BATCH):
            await self._send(pending[start : start + MAX_BATCH])

    async def _send(self, events: list[dict]) -> None:
        if self.layer is None or not events:
            return
        async with self._send_lock:
            await self._push(events)

    async def _push(self, events: list[dict]) -> None:
        numbered = []
        for event in events:
            self.seq += 1
            numbered.append({**event, "seq": self.seq, "epoch": self.epoch})
        token = _sending.set(self)
        try:
            await self.layer.group_send(self.group, channel_batch_message(numbered))
            self.sent += len(numbered)
        except Exception as exc:
            self.failed += len(numbered)
            now = time.monotonic()
            if now - self._last_failure_log > 10:
                self._last_failure_log = now
                log.warning("live push failed (%s: %s); %d failed so far", type(exc).__name__, exc, self.failed)
        finally:
            _sending.reset(token)
