"""Test harness: polling with a deadline (never sleeps as synchronisation) and an in-process IB worker.

The worker runs in its own thread with its own event loop, exactly as `manage.py ibworker` runs it,
connected over a real socket to a paper gateway (trading.ibsim) with the real ib_insync client.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

from trading.worker.service import IBWorker, WorkerOptions

DEFAULT_TIMEOUT = 15.0


def wait_until(
    predicate: Callable[[], object], *, timeout: float = DEFAULT_TIMEOUT, interval: float = 0.05, what: str = ""
) -> object:
    """Poll `predicate` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or predicate}")
        time.sleep(interval)


async def until(
    predicate: Callable[[], object], timeout: float = DEFAULT_TIMEOUT, what: str = "", interval: float = 0.01
) -> object:
    """`wait_until` for a test's event loop: poll without blocking the loop; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(interval)


class WorkerThread:
    """An IBWorker on a background thread; `call()` runs a coroutine on its loop from the test."""

    def __init__(self, *, port: int, var_dir: Path, client_id: int = 1, handler_paths=None, extensions=(), **options):
        self.options = WorkerOptions(
            host="127.0.0.1",
            port=port,
            client_id=client_id,
            mode=options.pop("mode", "paper"),
            handler_paths=[str(p) for p in handler_paths] if handler_paths is not None else [],
            heartbeat_interval=options.pop("heartbeat_interval", 0.5),
            connect_timeout=options.pop("connect_timeout", 5.0),
            backoff_first=options.pop("backoff_first", 0.2),
            backoff_cap=options.pop("backoff_cap", 1.0),
            var_dir=var_dir,
            **options,
        )
        self.extensions = list(extensions)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.worker: IBWorker | None = None
        self.exit_code: int | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="ibworker-test", daemon=True)

    def _main(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.worker = IBWorker(self.options)
            self.worker.extensions.extend(self.extensions)
            self._ready.set()
            self.exit_code = self.loop.run_until_complete(self.worker.run())
        except BaseException as exc:  # surfaced by stop()
            self.error = exc
            self._ready.set()
        finally:
            self.loop.close()

    def start(self) -> WorkerThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def wait_connected(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        wait_until(lambda: self.worker.synced or self.error, timeout=timeout, what="the worker to connect and sync")
        if self.error:
            raise self.error
        self.flush()

    def call(self, coro, timeout: float = DEFAULT_TIMEOUT):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def flush(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the recorder has written every event received so far."""
        self.call(self.worker.recorder.flush(), timeout)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.loop is not None and self._thread.is_alive():
            try:
                self.loop.call_soon_threadsafe(self.worker.request_stop)
            except RuntimeError:  # the loop closed since is_alive(): the worker stopped by itself
                pass
        self._thread.join(timeout)
        if self._thread.is_alive():
            import faulthandler
            import sys

            faulthandler.dump_traceback(sys.stderr)  # where every thread is stuck, for the failure report
            tasks = [repr(t) for t in asyncio.all_tasks(self.loop)] if self.loop else []
            raise AssertionError(f"the worker did not stop within {timeout:.0f}s; tasks: {tasks}")
        if self.error:
            raise self.error
        return self.exit_code


def subprocess_env(**extra: str) -> dict:
    """Environment for a console subprocess (worker, cluster, web) that shares this test's database and Redis."""
    import os

    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(
        DATABASE_URL=url,
        REDIS_URL=settings.REDIS_URL,
        CONSOLE_PREFIX=settings.CONSOLE_PREFIX,
        CONSOLE_VAR_DIR=str(settings.VAR_DIR),
        DJANGO_SETTINGS_MODULE="console.settings",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def browser_session_end() -> None:
    """Close the database connections the test body opened while Playwright's sync API ran.

    Playwright runs the test in a context of its own, and Django keeps a connection per context: one
    left open is picked up again by a later browser test. If a drill in between terminated it
    (PostgreSQL's pg_terminate_backend), that later test failed with "terminating connection due to
    administrator command". Call this from the browser fixture's teardown, inside `sync_playwright()`."""
    from django.db import connections

    connections.close_all()
