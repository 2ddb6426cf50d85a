"""The channel layer: channels_redis's, with `send` in one round trip to Redis instead of four.

channels_redis 4.3's `send` awaits four commands one after the other: ZREMRANGEBYSCORE (drop expired
messages), ZCOUNT (refuse when the channel is at capacity), ZADD (the message), EXPIRE. Every hand-off of
a run to the worker and every answer back to a waiting API call is such a send, so a `summary` waited on
paid eight round trips to Redis for its two messages. Here the same four commands run as one Lua script,
in one round trip, with the same keys, scores, expiry and capacity check (and atomically: two senders
can no longer both pass the capacity check). Receiving and groups are channels_redis's own.
tests/test_channel_layer.py checks the behaviour against the pinned channels_redis.
"""

from __future__ import annotations

import time

from channels.exceptions import ChannelFull
from channels_redis.core import RedisChannelLayer as ChannelsRedisLayer

# KEYS[1] the channel's key; ARGV: [1] expired below this score, [2] capacity, [3] score (now),
# [4] the serialized message, [5] the key's expiry in seconds. 0: full, nothing added; 1: added.
SEND = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[1])
if redis.call('ZCOUNT', KEYS[1], '-inf', '+inf') >= tonumber(ARGV[2]) then
    return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class RedisChannelLayer(ChannelsRedisLayer):
    async def send(self, channel, message):
        """Send a message onto a channel (channels_redis's `send`, in one round trip)."""
        assert isinstance(message, dict), "message is not a dict"
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        assert "__asgi_channel__" not in message
        channel_non_local_name = channel
        if "!" in channel:  # a process-local channel: the full name travels in the message
            message = dict(message.items())
            message["__asgi_channel__"] = channel
            channel_non_local_name = self.non_local_name(channel)
        channel_key = self.prefix + channel_non_local_name
        index = self.consistent_hash(channel) if "!" in channel else next(self._send_index_generator)
        now = time.time()
        added = await self.connection(index).eval(
            SEND, 1, channel_key, int(now) - int(self.expiry), self.get_capacity(channel), now, self.serialize(message), int(self.expiry)
        )
        if not added:
            raise ChannelFull()
