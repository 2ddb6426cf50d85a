"""A local HTTP receiver for apprise's json:// URLs, and the clock the notifier is driven with."""

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from trading.models import NotifyCursor


class Receiver:
    """Records every JSON body POSTed to it; answers 500 to the next `fail_next` requests."""

    def __init__(self):
        self.received: list[dict] = []
        self.refused = 0
        self.fail_next = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    failing = receiver.fail_next > 0
                    if failing:
                        receiver.fail_next -= 1
                        receiver.refused += 1
                    else:
                        receiver.received.append(body)
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def notify_urls(settings, receiver):
    """NOTIFY_URLS naming the receiver: every kind, no admin step."""
    settings.NOTIFY_URLS = [receiver.url()]
    settings.NOTIFY_DAILY_SUMMARY_AT = ""
    return settings.NOTIFY_URLS


class Clock:
    """The notifier's `now`, moved by hand."""

    def __init__(self, start: datetime):
        self.now = start

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock():
    return Clock(datetime.now(UTC))


@pytest.fixture
def cursor_at_end(db):
    """The cursor the migration made (at the log's end)."""
    return NotifyCursor.objects.get(pk=1)
