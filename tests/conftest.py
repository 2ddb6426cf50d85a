"""Shared fixtures: named users (alice is staff, bob is a plain user), the Redis the settings name."""

import pytest
from django.conf import settings

from console.embedded_redis import ensure_embedded_redis, socket_from_url


def pytest_collection_modifyitems(items):
    """Every transactional test keeps the migrated rows (`serialized_rollback=True`). One without it ends
    with a flush that re-creates the content types, and every serialized test after it then fails at
    setup on a duplicate content type: dozens of errors far from the test that caused them."""
    for item in items:
        mark = item.get_closest_marker("django_db")
        if mark is not None and mark.kwargs.get("transaction") and not mark.kwargs.get("serialized_rollback"):
            raise pytest.UsageError(
                f"{item.nodeid}: a transactional test must keep the migrated rows: "
                "pytest.mark.django_db(transaction=True, serialized_rollback=True)"
            )


@pytest.fixture(scope="session")
def redis_url():
    """The Redis the console is configured with; the embedded one is started when REDIS_URL is unset.

    At the end of the session every key under this run's prefix is removed (queued q2 tasks nobody
    consumed, channel layer leftovers), so a shared Redis does not fill up with test debris."""
    if settings.REDIS_EMBEDDED:
        ensure_embedded_redis(socket_from_url(settings.REDIS_URL))
    yield settings.REDIS_URL
    redis_purge_test_keys()


def redis_purge_test_keys() -> None:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(f"*{settings.CONSOLE_PREFIX}*", count=500):
        client.delete(key)


@pytest.fixture
def alice(django_user_model):
    """Staff, superuser: the trader who owns the console."""
    return django_user_model.objects.create_superuser("alice", "alice@example.com", "alice-password-1")


@pytest.fixture
def bob(django_user_model):
    """A logged-in user with no staff rights."""
    return django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-1")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture(autouse=True)
def _main_thread_event_loop():
    """Give the main thread an event loop back after a test that closed it (pytest-asyncio, asyncio.run):
    ib_insync's synchronous API, used by some tests, asks for the current loop."""
    _ensure_main_loop()
    yield
    _ensure_main_loop()


def _ensure_main_loop() -> None:
    import asyncio
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if loop.is_closed():
            raise RuntimeError
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


@pytest.fixture
def zone_from_settings(settings, monkeypatch):
    """The display zone read from settings.DISPLAY_TIME_ZONE on every call (not the common trading
    setting): tests that set the zone with `settings.DISPLAY_TIME_ZONE = ...`, with or without a database."""
    from zoneinfo import ZoneInfo

    from trading import clock

    monkeypatch.setattr(clock, "_zone_read", lambda: ZoneInfo(settings.DISPLAY_TIME_ZONE))
    monkeypatch.setattr(clock, "CACHE_SECONDS", 0.0)
    clock.display_zone_forget()
    yield
    clock.display_zone_forget()
