"""The broadcaster against real Redis: a burst goes out as one numbered message; a refused push is counted."""

import asyncio

import pytest
from django.conf import settings

from console.channel_layer import RedisChannelLayer
from trading.live import live_event
from trading.worker.broadcast import Broadcaster

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("redis_url")]


def layer_with(capacity: int) -> RedisChannelLayer:
    config = {**settings.CHANNEL_LAYERS["default"]["CONFIG"], "capacity": capacity}
    return RedisChannelLayer(**config)


async def started(layer: RedisChannelLayer) -> tuple[Broadcaster, str]:
    broadcaster = Broadcaster()
    broadcaster.layer = layer
    channel = await layer.new_channel()  # a page's channel, like a dashboard socket's
    await layer.group_add(broadcaster.group, channel)
    return broadcaster, channel


async def test_a_burst_of_events_goes_out_as_one_message_numbered_in_order():
    layer = layer_with(100)
    broadcaster, channel = await started(layer)
    for n in range(5):
        broadcaster.publish(live_event("fill.new", {"exec_id": f"e{n}"}, mode="paper"))
    broadcaster.start()
    try:
        message = await asyncio.wait_for(layer.receive(channel), timeout=10)
    finally:
        await broadcaster.stop()
        await layer.group_discard(broadcaster.group, channel)

    assert message["type"] == "live.batch"
    assert [(e["seq"], e["payload"]["exec_id"]) for e in message["events"]] == [(n + 1, f"e{n}") for n in range(5)]
    assert len({e["epoch"] for e in message["events"]}) == 1 and broadcaster.sent == 5


async def test_a_push_refused_by_a_full_web_process_queue_is_counted_not_silent(caplog):
    layer = layer_with(1)  # a web process that has not read its one queued message yet
    broadcaster, channel = await started(layer)
    broadcaster.start()
    try:
        for n in range(3):
            broadcaster.publish(live_event("fill.new", {"exec_id": f"e{n}"}, mode="paper"))
            deadline = asyncio.get_running_loop().time() + 10
            while broadcaster.sent < n + 1 and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
    finally:
        await broadcaster.stop()
        await layer.group_discard(broadcaster.group, channel)

    assert broadcaster.dropped == 2
    assert "live push refused" in caplog.text


class GatedLayer(RedisChannelLayer):
    """A layer whose first group_send waits at a gate, as a slow Redis round trip would."""

    def __init__(self, **config):
        super().__init__(**config)
        self.gate = asyncio.Event()
        self.calls = 0

    async def group_send(self, group, message):
        self.calls += 1
        if self.calls == 1:
            await self.gate.wait()
        await super().group_send(group, message)


async def test_the_send_and_flush_loops_push_in_seq_order_even_when_a_push_is_slow():
    # An order event's push is slow; meanwhile the flush loop has a heartbeat to push. Were the two
    # interleaved, the heartbeat (seq 2) would reach the page before the order event (seq 1): a gap
    # the page takes for a lost push, and resyncs for (rebuilding its tables under a trader's edit).
    layer = GatedLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
    broadcaster, channel = await started(layer)
    broadcaster.flush_interval = 0.01
    broadcaster.publish(live_event("order.status", {"id": 1}, mode="paper"))
    broadcaster.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while layer.calls == 0 and loop.time() < deadline:
            await asyncio.sleep(0.005)
        broadcaster.publish(live_event("worker.heartbeat", {"account": "DU1"}, mode="paper"))
        while broadcaster.latest and loop.time() < deadline:  # the flush loop has taken the heartbeat
            await asyncio.sleep(0.005)
        layer.gate.set()
        first = await asyncio.wait_for(layer.receive(channel), timeout=10)
        second = await asyncio.wait_for(layer.receive(channel), timeout=10)
    finally:
        await broadcaster.stop()
        await layer.group_discard(broadcaster.group, channel)

    received = [(e["seq"], e["type"]) for m in (first, second) for e in m["events"]]
    assert received == [(1, "order.status"), (2, "worker.heartbeat")]
