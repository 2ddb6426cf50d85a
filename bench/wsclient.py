"""A small asyncio websocket client (RFC 6455, text frames) for the benchmarks and the fault drills.

The console's dependencies bring no websocket client, and a browser is too heavy to run twenty of;
this speaks just enough of the protocol to log in with a session cookie, receive the dashboard's JSON
events with their arrival time, and send a message::

    async with await LiveSocket.connect(port, cookie="sessionid=…") as socket:
        event = await socket.receive(timeout=5)      # dict, or None on timeout; socket.closed_code on close
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time

OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA


class HandshakeRefused(ConnectionError):
    pass


class LiveSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.closed_code: int | None = None
        self.received_at: float = 0.0  # time.time() when the last message arrived

    @classmethod
    async def connect(cls, port: int, *, path: str = "/ws/live/", cookie: str = "", host: str = "127.0.0.1",
                      timeout: float = 10.0) -> LiveSocket:  # fmt: skip
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, limit=2**24), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket", "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", f"Origin: http://{host}:{port}",
        ]  # fmt: skip
        if cookie:
            lines.append(f"Cookie: {cookie}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 101 " not in status + " ":
            writer.close()
            raise HandshakeRefused(status)
        return cls(reader, writer)

    async def __aenter__(self) -> LiveSocket:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def receive(self, timeout: float | None = None) -> dict | None:
        """The next JSON message, None on timeout; raises ConnectionError once the server closed."""
        try:
            return await asyncio.wait_for(self._next_text(), timeout)
        except TimeoutError:
            return None

    async def _next_text(self) -> dict:
        parts: list[bytes] = []
        while True:
            opcode, fin, payload = await self._frame()
            if opcode == OP_CLOSE:
                self.closed_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                raise ConnectionError(f"websocket closed by the server ({self.closed_code})")
            if opcode == OP_PING:
                self._send_frame(OP_PONG, payload)
                continue
            if opcode == OP_PONG:
                continue
            parts.append(payload)
            if fin:
                self.received_at = time.time()
                return json.loads(b"".join(parts))

    async def _frame(self) -> tuple[int, bool, bytes]:
        try:
            first, second = await self.reader.readexactly(2)
        except asyncio.IncompleteReadError as exc:
            self.closed_code = self.closed_code or 1006
            raise ConnectionError("websocket connection lost") from exc
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        mask = await self.reader.readexactly(4) if second & 0x80 else b""
        payload = await self.reader.readexactly(length)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return first & 0x0F, bool(first & 0x80), payload

    async def send(self, message: dict) -> None:
        self._send_frame(OP_TEXT, json.dumps(message).encode())
        await self.writer.drain()

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)  # a client must mask what it sends
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 2**16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        self.writer.write(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    async def close(self) -> None:
        if not self.writer.is_closing():
            try:
                self._send_frame(OP_CLOSE, struct.pack("!H", 1000))
                await self.writer.drain()
            except ConnectionError:
                pass
            self.writer.close()


def session_cookie_for(user) -> str:
    """A logged-in session for `user` in the shared database, as the `Cookie` header value."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
