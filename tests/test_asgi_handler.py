"""The web process's HTTP handler (console/handler.py): Django's ASGI handler with the middleware chain
built in sync mode and entered once. Driven here through console.asgi's own application, as daphne
drives it: a JSON answer, a login-protected page, a streamed CSV export, and an error answer all come
back whole, and every request's database work happens on one thread, kept from one request to the next."""

import asyncio
import csv
import io
import threading

import pytest
from asgiref.sync import iscoroutinefunction
from asgiref.testing import ApplicationCommunicator

from console.asgi import django_asgi_app
from console.handler import AfterResponse, RequestThreads, SyncChainASGIHandler, after_response
from tests.api.factories import fill_make
from tests.harness import until, wait_until
from trading.tokens import token_create

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def close_kept_connections():
    """The web's kept request threads keep their connections (PostgreSQL's 60 s here): close them after
    each test, or the test database could not be dropped at the end of the session."""
    yield
    from django.db import connections

    threads = django_asgi_app.request_threads
    wait_until(lambda: threads.idle == threads.started, what="the request threads to be idle again")
    for executor in list(threads._idle):
        executor.submit(connections.close_all).result(timeout=10)


async def call(path: str, token: str | None = None) -> dict:
    """GET `path` as daphne would send it; the answer's status, headers and body (all its chunks)."""
    path, _, query = path.partition("?")
    headers = [(b"host", b"testserver")] + ([(b"authorization", f"Bearer {token}".encode())] if token else [])
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    communicator = ApplicationCommunicator(django_asgi_app, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(20)
    body = b""
    while True:
        chunk = await communicator.receive_output(20)
        body += chunk.get("body", b"")
        if not chunk.get("more_body"):
            break
    await communicator.wait(20)
    return {"status": start["status"], "headers": start["headers"], "body": body}


def test_the_web_process_serves_http_with_the_chain_in_sync_mode():
    assert isinstance(django_asgi_app, SyncChainASGIHandler)
    assert not iscoroutinefunction(django_asgi_app._middleware_chain)


@pytest.mark.asyncio
async def test_a_json_answer_a_page_redirect_and_an_error_come_back_whole():
    health = await call("/api/health")
    assert health["status"] == 200 and b'"status"' in health["body"]
    page = await call("/dashboard/")  # not signed in: to the login page, by the auth middleware
    assert page["status"] == 302 and dict(page["headers"])[b"Location"].startswith(b"/")
    missing = await call("/api/runs/999999", token="ibc_not-a-token")
    assert missing["status"] == 401 and b"error" in missing["body"]


@pytest.mark.asyncio
async def test_a_csv_export_streams_every_row_through_the_handler(bob):
    from asgiref.sync import sync_to_async

    token = await sync_to_async(lambda: token_create(user=bob, name="csv")[1])()
    await sync_to_async(lambda: [fill_make(symbol="SPY") for _ in range(3)])()
    response = await call("/api/fills?format=csv", token=token)
    assert response["status"] == 200
    rows = list(csv.DictReader(io.StringIO(response["body"].decode())))
    assert len(rows) == 3 and {row["symbol"] for row in rows} == {"SPY"}


async def idle_threads(count: int) -> None:
    """Until `count` kept request threads are idle again (given back after a drain)."""
    await until(lambda: django_asgi_app.request_threads.idle >= count, timeout=10, what="the request thread to be given back")


@pytest.fixture
def record_threads(monkeypatch):
    """(step, thread id) of every request's signals and chain, and the chain thread's database wrapper."""
    from django.core.signals import request_finished, request_started
    from django.db import connections

    seen: list[tuple[str, int]] = []
    wrappers = []
    started = lambda **kw: seen.append(("started", threading.get_ident()))  # noqa: E731
    finished = lambda **kw: seen.append(("finished", threading.get_ident()))  # noqa: E731
    get_response = django_asgi_app.get_response

    def chain(request):
        seen.append(("chain", threading.get_ident()))
        wrappers.append(connections["default"])
        hold = request.GET.get("hold")
        if hold:
            assert HOLDS[hold].wait(10), "the test never let the held request go"
        return get_response(request)

    monkeypatch.setattr(django_asgi_app, "get_response", chain)
    request_started.connect(started, weak=False)
    request_finished.connect(finished, weak=False)
    yield seen, wrappers
    request_started.disconnect(started)
    request_finished.disconnect(finished)


HOLDS: dict[str, threading.Event] = {}


@pytest.fixture
def kept_threads(monkeypatch):
    """A fresh RequestThreads of `size` on the handler, with connections kept past a request as in the
    web process (CONN_MAX_AGE > 0, DB_POOL on SQLite); its threads' connections are closed afterwards."""
    from django.db import connections

    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 600)
    made = []

    def make(size: int) -> RequestThreads:
        threads = RequestThreads(size=size)
        monkeypatch.setattr(django_asgi_app, "request_threads", threads)
        made.append(threads)
        return threads

    yield make
    for threads in made:
        for executor in threads._idle:
            executor.submit(connections.close_all).result(timeout=10)


@pytest.mark.asyncio
async def test_each_request_runs_its_signals_chain_and_view_on_one_kept_thread_never_the_loops(record_threads, kept_threads):
    """Middleware, view and the request's signals share a thread (its database connection), as under
    Django's own ASGI handler, and it is not the event loop's: the loop stays free meanwhile. The next
    request reuses that thread, and its open database connection, instead of starting new ones."""
    kept_threads(2)
    seen, wrappers = record_threads
    for _ in range(3):
        assert (await call("/api/health"))["status"] == 200
        await idle_threads(1)

    assert [step for step, _ in seen] == ["started", "chain", "finished"] * 3
    threads = {ident for _, ident in seen}
    assert len(threads) == 1, "one kept thread served all three"
    assert threading.get_ident() not in threads
    assert django_asgi_app.request_threads.started == 1
    connection = wrappers[0].connection
    assert connection is not None and all(w.connection is connection for w in wrappers), "one connection, kept open"


@pytest.mark.asyncio
async def test_with_every_kept_thread_busy_a_request_gets_a_thread_of_its_own_and_closes_its_connection(
    record_threads, kept_threads
):
    kept_threads(1)
    seen, wrappers = record_threads
    HOLDS["a"] = threading.Event()
    held = asyncio.create_task(call("/api/health?hold=a"))  # holds the only kept thread
    await until(lambda: wrappers, timeout=10, what="the held request to reach its view")

    assert (await call("/api/health"))["status"] == 200, "served while the kept thread is busy"
    HOLDS["a"].set()
    assert (await held)["status"] == 200

    kept, own = seen[1][1], seen[3][1]
    assert kept != own and [s for s, ident in seen if ident == own] == ["started", "chain", "finished"]
    assert wrappers[1].connection is None, "the extra thread's connection was closed before the thread ended"
    await idle_threads(1)
    assert wrappers[0].connection is not None, "while the kept thread's stays open"
    assert django_asgi_app.request_threads.started == 1, "no kept thread beyond the limit"


@pytest.mark.asyncio
async def test_a_kept_thread_is_idle_again_only_once_what_its_request_left_running_is_done():
    """A view still running after its client went away keeps its thread: the next request is not queued
    behind it unseen, it takes another thread."""
    threads = RequestThreads(size=2)
    first = threads.take()
    release = threading.Event()
    first.submit(release.wait, 10)  # the abandoned view
    threads.give_back(first)
    assert threads.idle == 0 and threads.take() is not first, "not given back while its work runs"
    release.set()
    await until(lambda: threads.idle >= 1, timeout=10, what="the thread to be given back once its work finished")
    assert threads.take() is first


@pytest.mark.asyncio
async def test_work_left_for_after_the_response_runs_on_the_requests_thread_once_the_response_is_sent(monkeypatch):
    events: list[tuple[str, object]] = []
    get_response = django_asgi_app.get_response

    def chain(request):
        events.append(("chain", threading.get_ident()))
        after_response(lambda: events.append(("after", threading.get_ident())))
        return get_response(request)

    async def recorded(scope, receive, send):
        async def send_recorded(message):
            events.append(("sent", message["type"]))
            await send(message)

        await django_asgi_app(scope, receive, send_recorded)

    monkeypatch.setattr(django_asgi_app, "get_response", chain)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": "/api/health", "raw_path": b"/api/health", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    communicator = ApplicationCommunicator(recorded, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    await communicator.wait(20)
    await until(lambda: events[-1][0] == "after", timeout=10, what="the work left for after the response")

    assert [step for step, _ in events] == ["chain", "sent", "sent", "after"]
    assert [kind for step, kind in events if step == "sent"] == ["http.response.start", "http.response.body"]
    assert events[-1][1] == events[0][1], "not on the request's thread"


def test_work_left_after_the_handler_ran_it_or_outside_a_request_runs_at_once(caplog):
    done: list[int] = []
    pending = AfterResponse()
    pending.add(lambda: done.append(1))
    pending.add(lambda: 1 / 0)  # a failure is logged; the rest still runs
    pending.add(lambda: done.append(2))
    assert done == []

    assert pending.run() is True
    assert done == [1, 2] and "ZeroDivisionError" in caplog.text
    assert AfterResponse().run() is False
    pending.add(lambda: done.append(3))  # a view still running after its client went away
    after_response(lambda: done.append(4))  # no request: a command, a q2 task, the test client
    assert done == [1, 2, 3, 4]
