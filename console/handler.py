"""The web process's ASGI handler for HTTP: Django's, with the middleware chain run in sync mode, on a
request thread kept from one request to the next.

Every middleware here and every view is synchronous. Django's ASGI handler runs the chain in async
mode, so each middleware's request and response halves, and the view, cross from the event loop to a
worker thread and back (a thread hop each, ~0.5 ms apiece on a small machine). This handler builds the
chain in sync mode and enters it once: the whole request runs in one thread, as under WSGI. An async
view still works (Django adapts it), at the cost of one hop of its own. bench/web_overhead.py measures
the difference.

Django gives each request a thread of its own for its thread-sensitive work (the request's signals,
the chain, a streamed body, `response.close`), started for the request and joined after it. Here that
thread is one of up to `KEPT_THREADS` kept between requests (`RequestThreads`): the same per-request
guarantees — one thread for all of a request's thread-sensitive work, no two requests on it at once —
without starting and joining two threads per request, and with the thread's database connection kept
open where Django lets it (SQLite: console/env.py sqlite_config; a new SQLite connection re-reads the
schema on its first query, ~1.5 ms). Beyond `KEPT_THREADS` requests at once (long `?wait=` calls), a
request gets a fresh thread as under Django's handler, and closes its connections before the thread ends.

A request served on a kept thread may leave work for after its response (`after_response`): the
handler runs it on that thread once the response is sent and closed. `run_submit` leaves its q2 task
there, so the cluster picks it up after the caller has its answer, not while the worker runs the body.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.db import connections

KEPT_THREADS = 8  # at most this many requests at once reuse a thread; each keeps one database connection

log = logging.getLogger("console.handler")


class AfterResponse:
    """What a request leaves to do once its response is sent (`after_response`). The handler runs it on
    the request's thread after the response is sent and closed. Work added after that (a view still
    running after its client went away) runs at once, where it is added: nothing is ever left undone."""

    def __init__(self) -> None:
        self._work: list[Callable[[], object]] = []
        self._ran = False
        self._lock = threading.Lock()

    def add(self, fn: Callable[[], object]) -> None:
        with self._lock:
            if not self._ran:
                self._work.append(fn)
                return
        _run_logged(fn)

    def run(self) -> bool:
        """Run what was left; whether there was anything."""
        with self._lock:
            self._ran = True
            work, self._work = self._work, []
        for fn in work:
            _run_logged(fn)
        return bool(work)


def _run_logged(fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception:  # the response is out: a failure here has nobody to answer but the log
        log.exception("work left for after the response failed")


def _after_response_run(pending: AfterResponse) -> None:
    """The handler's end of a request (no await, so nothing can cancel it): what the request left, then,
    as at a request's end (request_finished), its old connections closed: work that reached the database
    (a refused q2 task is recorded) gives a pooled PostgreSQL connection back instead of holding it."""
    from django.db import close_old_connections

    if pending.run():
        close_old_connections()


_AFTER_RESPONSE: contextvars.ContextVar[AfterResponse | None] = contextvars.ContextVar("after_response", default=None)


def after_response(fn: Callable[[], object]) -> None:
    """Run `fn` once the current request's response is sent, when the request is served by this
    handler on a kept thread; at once otherwise (a test client, a command, a q2 task, no request).
    For work the caller need not wait for and must not compete with: `run_submit`'s q2 task."""
    pending = _AFTER_RESPONSE.get()
    if pending is None:
        fn()
    else:
        pending.add(fn)


class RequestThreads:
    """Single-thread executors kept for requests (thread-safe: a test may serve from two loops)."""

    def __init__(self, size: int = KEPT_THREADS):
        self.size = size
        self.started = 0
        self._idle: list[ThreadPoolExecutor] = []
        self._lock = threading.Lock()

    def take(self) -> ThreadPoolExecutor | None:
        """An idle request thread, a new one while fewer than `size` exist, else None (all are busy)."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if self.started >= self.size:
                return None
            self.started += 1
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="web-request")

    def give_back(self, thread: ThreadPoolExecutor) -> None:
        """Idle again once everything the request left on it has run (a view still running after its
        client went away finishes first: the next request never queues behind it unseen)."""
        thread.submit(lambda: None).add_done_callback(lambda _: self._put(thread))

    def _put(self, thread: ThreadPoolExecutor) -> None:
        with self._lock:
            self._idle.append(thread)

    @property
    def idle(self) -> int:
        return len(self._idle)


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self):
        super().__init__()
        self.request_threads = RequestThreads()

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)  # Django's refusal
        thread = self.request_threads.take()
        if thread is None:  # every kept thread is busy: a thread of the request's own, as under Django's handler
            async with ThreadSensitiveContext():
                try:
                    await self.handle(scope, receive, send)
                finally:
                    await sync_to_async(connections.close_all)()  # its connection must not outlive the thread
            return
        pending = AfterResponse()
        token = _AFTER_RESPONSE.set(pending)
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            _AFTER_RESPONSE.reset(token)
            thread.submit(_after_response_run, pending)  # on the request's thread, after all it left there
            self.request_threads.give_back(thread)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
