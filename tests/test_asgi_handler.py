"""The web process's HTTP handler (console/handler.py): Django's ASGI handler with the middleware chain
built in sync mode and entered once. Driven here through console.asgi's own application, as daphne
drives it: a JSON answer, a login-protected page, a streamed CSV export, and an error answer all come
back whole, and every request's database work happens on one thread of its own."""

import csv
import io
import threading

import pytest
from asgiref.sync import iscoroutinefunction
from asgiref.testing import ApplicationCommunicator

from console.asgi import django_asgi_app
from console.handler import SyncChainASGIHandler
from tests.api.factories import fill_make
from trading.tokens import token_create

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


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


@pytest.mark.asyncio
async def test_each_request_runs_its_chain_and_view_on_one_thread(monkeypatch):
    """Middleware, view and the request's signals share a thread (its database connection), as under
    Django's own ASGI handler, and it is not the event loop's: the loop stays free meanwhile."""
    from django.core.signals import request_finished, request_started

    seen: list[tuple[str, int]] = []
    started = lambda **kw: seen.append(("started", threading.get_ident()))  # noqa: E731
    finished = lambda **kw: seen.append(("finished", threading.get_ident()))  # noqa: E731
    get_response = django_asgi_app.get_response

    def view_thread(request):
        seen.append(("chain", threading.get_ident()))
        return get_response(request)

    monkeypatch.setattr(django_asgi_app, "get_response", view_thread)
    request_started.connect(started, weak=False)
    request_finished.connect(finished, weak=False)
    try:
        for _ in range(2):
            assert (await call("/api/health"))["status"] == 200
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)

    assert [step for step, _ in seen] == ["started", "chain", "finished"] * 2
    first, second = {ident for _, ident in seen[:3]}, {ident for _, ident in seen[3:]}
    assert len(first) == 1 and len(second) == 1  # (a thread's id may be reused by the next request's thread)
    assert threading.get_ident() not in first | second
