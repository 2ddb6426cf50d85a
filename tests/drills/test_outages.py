"""Drills: Redis restarted under the web and the worker; the database unavailable for a few seconds.

Redis carries only live pushes (and the q2 hand-off): while it is gone the worker keeps recording, counts
each failed push, and the dashboard resyncs from the database when its socket reconnects. A database
outage only delays writes: the recorder retries, and every event of the gap is written afterwards.
"""

import asyncio
import socket
import sqlite3
import subprocess
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from bench.wsclient import LiveSocket, session_cookie_for
from console.embedded_redis import redis_server_binary
from tests.drills.conftest import assert_ledger_matches_gateway, heartbeat_connected, submit, submit_and_wait
from tests.harness import wait_until
from tests.worker.conftest import place_limit
from trading.intents.runs import run_wait
from trading.models import Fill, RunStatus, WorkerHeartbeat

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.drill]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own on a free port (the machine's shared Redis is never touched)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "PrivateRedis":
        command = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.answers, what=f"redis-server on port {self.port}")
        return self

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis():
    server = PrivateRedis().start()
    yield server
    server.stop()


def fills_in_snapshot(event: dict) -> set[str]:
    return {fill["exec_id"] for fill in event["payload"]["fills"]}


async def next_of_type(sock: LiveSocket, kind: str, timeout: float = 15.0) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        event = await sock.receive(timeout=deadline - loop.time())
        if event is not None and event["type"] == kind:
            return event
    raise AssertionError(f"no {kind} event within {timeout:.0f}s")


async def reconnect(port: int, cookie: str, attempts: int = 10) -> tuple[LiveSocket, dict, int]:
    """Connect until a socket delivers its snapshot (the web process's stale Redis connections fail once each)."""
    for attempt in range(1, attempts + 1):
        try:
            sock = await LiveSocket.connect(port, cookie=cookie)
            return sock, await next_of_type(sock, "snapshot", timeout=5), attempt
        except (ConnectionError, AssertionError):
            await asyncio.sleep(0.5)  # the page's reconnect pause, not a synchronisation
    raise AssertionError(f"no working socket after {attempts} attempts")


async def wait_for_close(sock: LiveSocket, timeout: float) -> bool:
    try:
        while True:
            if await sock.receive(timeout=timeout) is None:
                return False
    except ConnectionError:
        return True


def test_a_redis_restart_costs_live_pushes_only_and_web_and_worker_recover(
    paper_gateway, private_redis, settings, start_drill_worker, start_web, drill_intents, trading_on, alice
):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "console.channel_layer.RedisChannelLayer",
                    "CONFIG": {"hosts": [{"address": private_redis.url, "socket_timeout": 15}], "prefix": "drill:asgi"}}
    }  # fmt: skip
    web = start_web(REDIS_URL=private_redis.url, CONSOLE_PREFIX="drill")
    worker = start_drill_worker()
    worker.worker.broadcaster.group = "drill.live"  # the web process's live_group() under its prefix
    cookie = session_cookie_for(alice)
    paper_gateway.set_tick_interval(0)

    async def scenario():
        sock = await LiveSocket.connect(web.port, cookie=cookie)
        await next_of_type(sock, "snapshot")
        await asyncio.to_thread(submit_and_wait, {"symbols": ["SPY"], "quantity": 1}, key="before")
        before = await next_of_type(sock, "fill.new")

        await asyncio.to_thread(private_redis.stop)
        gap = await asyncio.to_thread(submit_and_wait, {"symbols": ["QQQ"], "quantity": 1}, key="during")
        await asyncio.to_thread(wait_until, lambda: worker.worker.broadcaster.failed > 0, what="a failed push, counted")
        await asyncio.to_thread(private_redis.start)
        sent = worker.worker.broadcaster.sent
        await asyncio.to_thread(
            wait_until, lambda: worker.worker.broadcaster.sent > sent + 1, what="the worker's pushes to work again"
        )

        # The page's socket does not survive the outage; like the page, reconnect (with a pause) until it holds.
        assert await wait_for_close(sock, timeout=5.0)
        fresh, snapshot, attempts = await reconnect(web.port, cookie)
        await asyncio.to_thread(submit_and_wait, {"symbols": ["IWM"], "quantity": 1}, key="after")
        after = await next_of_type(fresh, "fill.new")
        await fresh.close()
        return before, gap, snapshot, after, attempts

    before, gap, snapshot, after, attempts = asyncio.run(scenario())
    assert attempts <= 5, f"the web process needed {attempts} reconnects after Redis came back"
    gap_fill = Fill.objects.get(run_id=gap.pk)
    assert before["payload"]["symbol"] == "SPY" and after["payload"]["symbol"] == "IWM"
    assert gap_fill.exec_id in fills_in_snapshot(snapshot), "the gap's fill reaches the page through the resync"
    worker.flush()
    assert_ledger_matches_gateway(paper_gateway)


class DatabaseOutage:
    """PostgreSQL: refuse new connections and terminate the other backends of the test database.
    SQLite: hold an exclusive lock from another connection (writers wait, then retry)."""

    def __init__(self):
        self.vendor = connection.vendor
        self._lock: sqlite3.Connection | None = None

    def begin(self) -> None:
        if self.vendor == "postgresql":
            with connection.cursor() as cursor:  # this test's own connection stays, to check the outcome
                cursor.execute("SELECT pg_backend_pid()")
                mine = cursor.fetchone()[0]
            with self._maintenance() as admin:
                admin.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s", [self.name, mine]
                )
        else:
            self._lock = sqlite3.connect(self.name, timeout=1, isolation_level=None)
            self._lock.execute("BEGIN EXCLUSIVE")

    def end(self) -> None:
        if self.vendor == "postgresql":
            with self._maintenance() as admin:
                admin.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')
        elif self._lock is not None:
            self._lock.execute("COMMIT")
            self._lock.close()

    @property
    def name(self) -> str:
        return connection.settings_dict["NAME"]

    def _maintenance(self):
        """A connection to the server's `postgres` database (ALTER DATABASE cannot target the current one)."""
        import psycopg

        db = connection.settings_dict
        return psycopg.connect(
            dbname="postgres", host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
            password=db["PASSWORD"] or None, autocommit=True,
        )  # fmt: skip


def fill_count_seen_by_worker(worker) -> int:
    return worker.call(_fills(worker))


async def _fills(worker) -> int:
    return len(worker.worker.ib.fills())


def test_a_database_outage_delays_writes_and_every_event_of_the_gap_is_written_after(
    paper_gateway, start_drill_worker, start_web, drill_intents, trading_on
):
    web = start_web()
    worker = start_drill_worker()
    paper_gateway.set_tick_interval(0)
    symbols = ("SPY", "QQQ", "IWM", "TLT")
    for symbol in symbols:
        paper_gateway.set_price(symbol, 100.0)
    for symbol in symbols:
        place_limit(worker, symbol, "BUY", 3, 99.0, owner="drill")
    wait_until(lambda: len(paper_gateway.open_orders()) == len(symbols), what="the resting orders")
    worker.flush()

    outage = DatabaseOutage()
    outage.begin()
    try:
        for symbol in symbols:
            paper_gateway.set_price(symbol, 98.0)  # every order fills while the database is unavailable
        wait_until(lambda: fill_count_seen_by_worker(worker) == len(symbols), what="the worker to receive the fills")
        if outage.vendor == "postgresql":
            wait_until(lambda: worker.worker.recorder.stats.retries > 0, what="the recorder to retry")
    finally:
        outage.end()

    worker.flush(timeout=60)
    assert_ledger_matches_gateway(paper_gateway)
    assert Fill.objects.count() == len(symbols) and worker.worker.recorder.stats.dead_letters == 0
    wait_until(heartbeat_connected, what="the heartbeat written again")
    wait_until(lambda: web_health(web) == 200, what="the web process answering again")


def test_after_a_database_outage_the_worker_executes_intents_again(paper_gateway, drill_worker):
    outage = DatabaseOutage()
    outage.begin()
    try:
        wait_until(lambda: not heartbeat_connected_quietly(), timeout=30, what="the heartbeat to go stale or fail")
    finally:
        outage.end()
    wait_until(heartbeat_connected, what="the heartbeat written again")
    run = run_wait(submit({"symbols": ["GLD"], "quantity": 1}, key="after-outage").pk, timeout=20)
    assert run.status == RunStatus.SUCCEEDED, f"run #{run.pk} {run.status} after the outage: {run.error}"


def heartbeat_connected_quietly() -> bool:
    """The heartbeat as the web reads it, False while the database refuses this test too (SQLite lock)."""
    try:
        return bool(WorkerHeartbeat.objects.filter(updated_at__gte=timezone.now() - timedelta(seconds=1)).exists())
    except OperationalError:
        return False


def web_health(web) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{web.url}/api/health", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0
