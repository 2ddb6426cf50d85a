"""console/channel_layer.py: channels_redis's layer with `send` in one round trip. It must behave as the
pinned channels_redis's own `send` does: the message arrives once, in order, on the right channel (a
process-local one too), the channel's key expires as channels_redis sets it, expired messages are
dropped, and a full channel refuses with ChannelFull without adding anything. Against real Redis (the
embedded one, or REDIS_URL)."""

import asyncio

import pytest
from channels.exceptions import ChannelFull
from channels_redis.core import RedisChannelLayer as ChannelsRedisLayer
from django.conf import settings

from console.channel_layer import RedisChannelLayer

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("redis_url")]


def layer(cls=RedisChannelLayer, **overrides):
    return cls(**{**settings.CHANNEL_LAYERS["default"]["CONFIG"], "prefix": f"{settings.CONSOLE_PREFIX}:test-layer", **overrides})


async def key_state(layer_, channel: str) -> tuple[int, int]:
    """(messages waiting, seconds to expiry) of a channel's key."""
    key = layer_.prefix + (layer_.non_local_name(channel) if "!" in channel else channel)
    connection = layer_.connection(0)
    return await connection.zcard(key), await connection.ttl(key)


async def test_it_is_the_configured_layer():
    from channels.layers import get_channel_layer

    assert type(get_channel_layer()) is RedisChannelLayer


async def test_messages_arrive_once_in_order_and_the_key_expires_as_channels_redis_sets_it():
    ours, theirs = layer(expiry=30), layer(ChannelsRedisLayer, expiry=30)
    try:
        await ours.flush()
        for n in range(3):
            await ours.send("worker.test", {"type": "x", "n": n})
        assert await key_state(ours, "worker.test") == (3, 30)
        await theirs.send("worker.test2", {"type": "x", "n": 0})
        assert await key_state(ours, "worker.test2") == (1, 30), "the same key and expiry as channels_redis's send"

        got = [await asyncio.wait_for(theirs.receive("worker.test"), 5) for _ in range(3)]
        assert [message["n"] for message in got] == [0, 1, 2]
        assert (await key_state(ours, "worker.test"))[0] == 0
    finally:
        await ours.flush()
        await ours.close_pools()
        await theirs.close_pools()


async def test_a_process_local_channel_gets_its_message():
    ours = layer()
    try:
        await ours.flush()
        reply_to = await ours.new_channel()
        await ours.send(reply_to, {"type": "worker.reply", "answer": {"run_id": 7}})

        message = await asyncio.wait_for(ours.receive(reply_to), 5)

        assert message == {"type": "worker.reply", "answer": {"run_id": 7}}
    finally:
        await ours.flush()
        await ours.close_pools()


async def test_a_full_channel_refuses_and_adds_nothing_and_expired_messages_make_room():
    ours = layer(capacity=2, expiry=60)
    try:
        await ours.flush()
        await ours.send("worker.full", {"type": "x", "n": 1})
        await ours.send("worker.full", {"type": "x", "n": 2})
        with pytest.raises(ChannelFull):
            await ours.send("worker.full", {"type": "x", "n": 3})
        assert (await key_state(ours, "worker.full"))[0] == 2

        key = ours.prefix + "worker.full"
        connection = ours.connection(0)
        first = (await connection.zrange(key, 0, 0))[0]
        await connection.zadd(key, {first: 1.0})  # the first one sent long ago: expired
        await ours.send("worker.full", {"type": "x", "n": 3})
        got = [await asyncio.wait_for(ours.receive("worker.full"), 5) for _ in range(2)]
        assert [message["n"] for message in got] == [2, 3]
    finally:
        await ours.flush()
        await ours.close_pools()
