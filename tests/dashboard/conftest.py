"""Fixtures for the dashboard: worker heartbeats (fresh or stale) and a websocket to /ws/live/."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.utils import timezone

from trading.dashboard.consumers import LiveConsumer
from trading.models import WorkerHeartbeat

db = database_sync_to_async


@pytest.fixture(scope="module", autouse=True)
def _tidy_after_async_tests():
    """After the module: close the database connection of the thread `database_sync_to_async` ran in
    (PostgreSQL cannot drop a test database someone is still connected to), and give the main thread an
    event loop back (pytest-asyncio leaves none; ib_insync's sync API in later tests asks for one)."""
    yield
    loop = asyncio.new_event_loop()
    loop.run_until_complete(sync_to_async(connections.close_all, thread_sensitive=True)())
    asyncio.set_event_loop(loop)


@pytest.fixture
def fresh_heartbeat(transactional_db):
    """The IB worker says, just now, that it is connected to the gateway."""
    return WorkerHeartbeat.objects.create(
        name="ibworker", mode="paper", connected=True, gateway="127.0.0.1:4002", updated_at=timezone.now()
    )


@pytest.fixture
def stale_heartbeat(transactional_db):
    """The worker's last word was an hour ago: it is down."""
    return WorkerHeartbeat.objects.create(
        name="ibworker", mode="paper", connected=True, gateway="127.0.0.1:4002", updated_at=timezone.now() - timedelta(hours=1)
    )


@contextlib.asynccontextmanager
async def live_socket(user, *, application=None, headers=None, path="/ws/live/"):
    """A connected socket with its snapshot already read: yields (communicator, snapshot)."""
    communicator = WebsocketCommunicator(application or LiveConsumer.as_asgi(), path, headers=headers or [])
    if user is not None:
        communicator.scope["user"] = user
        communicator.scope["session"] = await db(signed_in_session)(user)
    connected, _ = await communicator.connect()
    assert connected
    try:
        snapshot = await communicator.receive_json_from(timeout=5)
        assert snapshot["type"] == "snapshot", snapshot
        yield communicator, snapshot
    finally:
        await communicator.disconnect()


def signed_in_session(user):
    """A stored session that signs `user` in, as the browser's cookie would name it (the socket checks it)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend"})
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session


async def ask(communicator, message: dict, *, timeout: float = 5) -> dict:
    """Send one browser message and return the server's `action.result` payload (other events skipped)."""
    await communicator.send_json_to(message)
    while True:
        reply = await communicator.receive_json_from(timeout=timeout)
        if reply["type"] == "action.result":
            return reply["payload"]


async def next_event(communicator, event_type: str, *, timeout: float = 5) -> dict:
    while True:
        reply = await communicator.receive_json_from(timeout=timeout)
        if reply["type"] == event_type:
            return reply
