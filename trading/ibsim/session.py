"""One client connection: handshake, request dispatch, buffered writes and its subscriptions.

Handshake, as TWS does it: the client sends ``API\\0`` and a framed ``v<min>..<max>``; we answer
``<version>`` and ``<connection time>``; the client sends startApi (71) with its client id; we
answer managedAccounts, nextValidId and the farm-status notices 2104/2106/2158. A client id that
is already connected gets error 326 and the socket is closed, as IB does.

Writes are collected and flushed once per event-loop iteration, so a burst of replies or ticks is
one ``send()``. When the client reads too slowly (the transport pauses writing) market-data ticks
are skipped - conflated, like IB's own feed - while order and account messages are always sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import TYPE_CHECKING

from trading.ibsim.handlers import HANDLERS, request_id, unsupported
from trading.ibsim.messages import common
from trading.ibsim.protocol import (
    FieldReader,
    FrameReader,
    In,
    choose_server_version,
    encode,
    frame,
    parse_version_range,
)

if TYPE_CHECKING:
    from trading.ibsim.server import PaperGateway

log = logging.getLogger("trading.ibsim")

ERR_CLIENT_ID_IN_USE = (
    326,
    "Unable to connect as the client id is already in use. Retry with a unique client id.",
)
ERR_MAX_RATE = 100


LINGER_AFTER_CLOSE = 1.0  # seconds a closed session keeps its socket, dropping what arrives

class Stage:
    PREFIX, VERSION, START_API, READY, CLOSED = range(5)


class ClientSession(asyncio.Protocol):
    """The gateway side of one TWS API socket."""

    def __init__(self, gateway: PaperGateway) -> None:
        self.gateway = gateway
        self.transport: asyncio.Transport | None = None
        self.client_id: int | None = None
        self.server_version = 0
        self.stage = Stage.PREFIX
        self._reader = FrameReader()
        self._out: list[bytes] = []
        self._flush_pending = False
        self.paused = False
        self._pending: deque = deque()  # delayed requests: (due time, fields)
        self._drain_scheduled = False
        self._recent: deque[float] = deque()  # arrival times for the message-rate limit
        # subscriptions
        self.market_data: dict = {}
        self.live_bars: dict = {}
        self.realtime_bars: dict = {}
        self.depth: dict = {}
        self.tick_by_tick: dict = {}
        self.pnl_requests: set[int] = set()
        self.pnl_single: dict[int, int] = {}
        self.account_summaries: dict[int, str] = {}
        self.positions_multi: set[int] = set()
        self.account_multi: set[int] = set()
        self.wants_positions = False
        self.wants_account_updates = False
        self.auto_open_orders = False
        self.market_data_type = 1

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(high=512 * 1024)
        self.gateway.session_opened(self)

    def connection_lost(self, exc) -> None:
        self.stage = Stage.CLOSED
        self.transport = None
        self.gateway.session_closed(self)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False

    def data_received(self, data: bytes) -> None:
        if self.stage == Stage.PREFIX:
            seen = self._reader.take_prefix(data)
            if seen is None:
                return
            if seen is False:
                self.close()
                return
            self.stage = Stage.VERSION
            data = b""
        for fields in self._reader.feed(data):
            if self.stage == Stage.CLOSED:
                return
            if self.stage == Stage.VERSION:
                self._negotiate(fields)
            elif self._over_rate_limit():
                return
            elif self.gateway.faults.reply_delay > 0:
                self._defer(fields)
            else:
                self._handle(fields)

    # --- handshake --------------------------------------------------------------------------

    def _negotiate(self, fields: list[str]) -> None:
        try:
            low, high = parse_version_range(fields[0] if fields else "")
        except ValueError:
            self.close()
            return
        version = choose_server_version(low, high)
        if version is None:
            log.warning("client versions %s..%s not supported, closing", low, high)
            self.close()
            return
        self.server_version = version
        self.stage = Stage.START_API
        stamp = time.strftime("%Y%m%d %H:%M:%S", time.localtime()) + " " + time.strftime("%Z")
        self.send_raw(frame(f"{version}\0{stamp}\0".encode()))

    def start_api(self, client_id: int) -> None:
        """startApi: claim the client id, then greet as IB Gateway does."""
        if not self.gateway.claim_client_id(self, client_id):
            self.error(common.NO_REQ_ID, *ERR_CLIENT_ID_IN_USE)
            self.close()
            return
        self.client_id = client_id
        self.stage = Stage.READY
        self.send_raw(common.managed_accounts([self.gateway.account.account_id]))
        self.send_raw(common.next_valid_id(self.gateway.broker.next_valid_id(client_id)))
        for code, message in self.gateway.farm_notices():
            self.error(common.NO_REQ_ID, code, message)

    # --- requests ---------------------------------------------------------------------------

    def _handle(self, fields: list[str]) -> None:
        if not fields:
            return
        try:
            msg_id = int(fields[0])
        except ValueError:
            log.warning("client %s sent a message with a bad id: %r", self.client_id, fields[:3])
            return
        if self.stage == Stage.START_API and msg_id != In.START_API:
            log.warning("request %s before startApi ignored", msg_id)
            return
        handler = HANDLERS.get(msg_id, unsupported)
        try:
            handler(self, FieldReader(fields))
        except Exception as exc:
            log.exception("client %s: request %s failed: %r", self.client_id, msg_id, fields[:12])
            req_id = request_id(fields)
            if req_id is not None:  # so the client is not left waiting for an answer
                self.error(req_id, 322, f"Error processing request.-'ibsim' : cause - {exc}")

    def _over_rate_limit(self) -> bool:
        """IB's 50 messages/second cap (error 100, then the connection is dropped); off by default."""
        limit = self.gateway.faults.max_message_rate
        if not limit:
            return False
        now = time.monotonic()
        recent = self._recent
        recent.append(now)
        while recent and now - recent[0] > 1.0:
            recent.popleft()
        if len(recent) <= limit:
            return False
        message = f"Max rate of messages per second has been exceeded:max={limit} rec={len(recent)}"
        self.error(common.NO_REQ_ID, ERR_MAX_RATE, message)
        self.close()
        return True

    def _defer(self, fields: list[str]) -> None:
        """Answer later (the reply-delay fault), keeping the requests in arrival order."""
        loop = asyncio.get_running_loop()
        self._pending.append((loop.time() + self.gateway.faults.reply_delay, fields))
        if not self._drain_scheduled:
            self._drain_scheduled = True
            loop.call_at(self._pending[0][0], self._drain)

    def _drain(self) -> None:
        self._drain_scheduled = False
        loop = asyncio.get_running_loop()
        while self._pending and self._pending[0][0] <= loop.time() + 1e-4:
            self._handle(self._pending.popleft()[1])
        if self._pending:
            self._drain_scheduled = True
            loop.call_at(self._pending[0][0], self._drain)

    # --- writing ----------------------------------------------------------------------------

    @property
    def is_ready(self) -> bool:
        return self.stage == Stage.READY

    @property
    def is_open(self) -> bool:
        return self.stage != Stage.CLOSED and self.transport is not None

    def send(self, *fields: object) -> None:
        self.send_raw(encode(*fields))

    def send_raw(self, data: bytes) -> None:
        if self.stage == Stage.CLOSED:
            return
        self._out.append(data)
        self._schedule_flush()

    def send_many(self, messages: list[bytes]) -> None:
        if messages and self.stage != Stage.CLOSED:
            self._out.extend(messages)
            self._schedule_flush()

    def error(self, req_id: int, code: int, message: str) -> None:
        self.send_raw(common.error(req_id, code, message, self.server_version))

    def _schedule_flush(self) -> None:
        if not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._flush_pending = False
        if self._out and self.transport is not None:
            data = b"".join(self._out)
            self._out.clear()
            self.transport.write(data)

    def close(self) -> None:
        """Flush what is queued, then close the socket (as IB does after a fatal error).

        The write side is shut first and the socket kept (reading and dropping) for a moment: closing
        it outright while the peer's requests still arrive makes the kernel answer with a reset, which
        can discard the last message at the peer (error 100 of the rate limit, for one)."""
        if self.stage == Stage.CLOSED:
            return
        self.flush()
        self.stage = Stage.CLOSED
        if self.transport is None:
            return
        if self.transport.can_write_eof():
            self.transport.write_eof()
            asyncio.get_running_loop().call_later(LINGER_AFTER_CLOSE, self.transport.close)
        else:
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection without flushing (a gateway crash or restart)."""
        self._out.clear()
        self.stage = Stage.CLOSED
        if self.transport is not None:
            self.transport.abort()

    def clear_subscriptions(self) -> None:
        for container in (self.market_data, self.live_bars, self.realtime_bars, self.pnl_single,
                          self.account_summaries, self.depth, self.tick_by_tick):  # fmt: skip
            container.clear()
        self.pnl_requests.clear()
        self.positions_multi.clear()
        self.account_multi.clear()
        self.wants_positions = self.wants_account_updates = False
