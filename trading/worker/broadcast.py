"""The broadcaster: recorded events go to the dashboard's Channels group, fast streams coalesced.

Order, fill and activity events are sent one by one, in order. Streams that can fire hundreds of
times a second (tickers, PnL, account values) keep only the latest value per key and are flushed at a
bounded rate, so a busy market never floods the browser or Redis. A Redis outage costs live pushes
only (the dashboard resyncs from the database on reconnect); each failure is logged and counted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

from channels.layers import get_channel_layer

from trading.live import channel_message, live_group

log = logging.getLogger("trading.worker.broadcast")

COALESCED_TYPES = {"ticker.update", "pnl.update", "account.value", "position.update", "worker.heartbeat"}
FLUSH_INTERVAL = 0.25  # seconds: at most 4 updates a second per key


def coalesce_key(event: dict) -> tuple:
    payload = event["payload"]
    return (
        event["type"],
        payload.get("account", ""),
        payload.get("con_id", payload.get("symbol", "")),
        payload.get("tag", ""),
        payload.get("currency", ""),
    )


class Broadcaster:
    def __init__(self, *, flush_interval: float = FLUSH_INTERVAL):
        self.layer = get_channel_layer()
        self.group = live_group()
        self.flush_interval = flush_interval
        self.outbox: asyncio.Queue[dict] = asyncio.Queue()
        self.latest: dict[tuple, dict] = {}
        self.sent = 0
        self.failed = 0
        self.coalesced = 0
        self._last_failure_log = 0.0
        # Every pushed event is numbered; a client that sees a gap (a dropped push) resyncs from a snapshot.
        self.epoch = f"{os.getpid()}-{int(time.time())}"
        self.seq = 0
        self._tasks: list[asyncio.Task] = []
        self._stopping = False

    def publish(self, event: dict) -> None:
        """Queue an event for the group (non-blocking; callable from the loop only)."""
        if event["type"] in COALESCED_TYPES:
            key = coalesce_key(event)
            if key in self.latest:
                self.coalesced += 1
            self.latest[key] = event
        else:
            self.outbox.put_nowait(event)

    def start(self) -> None:
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
            await self._send(self.outbox.get_nowait())

    async def _send_loop(self) -> None:
        while not self._stopping:
            await self._send(await self.outbox.get())

    async def _flush_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.flush_interval)
            await self._flush_latest()

    async def _flush_latest(self) -> None:
        pending, self.latest = self.latest, {}
        for event in pending.values():
            await self._send(event)

    async def _send(self, event: dict) -> None:
        if self.layer is None:
            return
        self.seq += 1
        event = {**event, "seq": self.seq, "epoch": self.epoch}
        try:
            await self.layer.group_send(self.group, channel_message(event))
            self.sent += 1
        except Exception as exc:
            self.failed += 1
            now = time.monotonic()
            if now - self._last_failure_log > 10:
                self._last_failure_log = now
                log.warning("live push failed (%s: %s); %d failed so far", type(exc).__name__, exc, self.failed)
