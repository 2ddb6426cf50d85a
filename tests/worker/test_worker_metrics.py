"""The worker's own /metrics: served from its thread on a port of its own, protected like the API,
and its counters move with the events it receives and records."""

import json
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import wait_until
from tests.test_metrics import alert_rule_names
from tests.worker.conftest import place_limit
from trading.observability.access import MSG_INVALID_TOKEN, MSG_NEED_TOKEN
from trading.observability.worker import guarded_app
from trading.tokens import token_create

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def scrape(worker, **headers) -> dict:
    """{(sample name, frozenset of labels): value} from the worker's server."""
    request = urllib.request.Request(f"http://127.0.0.1:{worker.worker.metrics.server.port}/metrics", headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value for family in text_string_to_metric_families(text) for s in family.samples
    }


def refusal(worker, **headers) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{worker.worker.metrics.server.port}/metrics", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    return caught.value.code, json.loads(caught.value.read())


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_the_worker_serves_its_connection_and_counts_an_orders_events(paper_gateway, start_worker):
    worker = start_worker(metrics_port=0)
    found = scrape(worker)
    assert value(found, "ibworker_connected", client_id="1") == 1
    assert value(found, "ibworker_connection_state", client_id="1", state="connected") == 1
    assert value(found, "ibworker_connection_state", client_id="1", state="disconnected") == 0
    assert value(found, "ibworker_lease_token", client_id="1") >= 1
    assert value(found, "ibworker_recorder_writes_total", op="reconcile_apply") == 1
    assert value(found, "ibworker_order_ack_seconds_count") == 0
    assert ("process_resident_memory_bytes", frozenset()) in found
    statuses_before = value(found, "ibworker_ib_events_total", event="orderStatus")
    orders_before = value(found, "ibworker_recorder_writes_total", op="order_upsert")

    paper_gateway.set_price("SPY", 100.0)
    place_limit(worker, "SPY", "BUY", 10, 99.0)  # rests: the gateway answers Submitted

    def moved():
        now = scrape(worker)
        return (
            value(now, "ibworker_ib_events_total", event="orderStatus") > statuses_before
            and value(now, "ibworker_recorder_writes_total", op="order_upsert") > orders_before
            and value(now, "ibworker_order_ack_seconds_count") == 1
            and now
        )

    found = wait_until(moved, what="the order's events counted, recorded and its acknowledgement timed")
    assert 0 < value(found, "ibworker_order_ack_seconds_sum") < 5
    assert value(found, "ibworker_orders_awaiting_ack") == 0
    assert value(found, "ibworker_recorder_queue_depth") >= 0 and value(found, "ibworker_recorder_lag_seconds") >= 0

    used = alert_rule_names("ibworker_")
    assert used and used <= {name for name, _ in found}, "docs/DEPLOY.md's alert rules name metrics the worker does not serve"

    worker.stop()
    assert worker.worker.metrics.server is None  # the port is given back with the worker


def test_the_workers_server_asks_for_a_token_unless_the_caller_is_local(start_worker, alice):
    worker = start_worker(metrics_port=0)
    _, plaintext = token_create(user=alice, name="prometheus")
    assert scrape(worker, Authorization=f"Bearer {plaintext}")
    assert refusal(worker, Authorization="Bearer ibc_not-a-token") == (
        401,
        {"error": "unauthorized", "detail": MSG_INVALID_TOKEN},
    )
    # a local reverse proxy forwarding a remote caller is remote
    assert refusal(worker, **{"X-Forwarded-For": "203.0.113.9"}) == (401, {"error": "unauthorized", "detail": MSG_NEED_TOKEN})


def test_a_remote_caller_without_a_token_is_refused_before_any_metric_is_read():
    def must_not_run(environ, start_response):
        raise AssertionError("the metrics app ran for a refused caller")

    answered = []
    body = guarded_app(must_not_run)(
        {"PATH_INFO": "/metrics", "REMOTE_ADDR": "203.0.113.9"}, lambda status, headers: answered.append((status, dict(headers)))
    )
    assert answered[0][0] == "401 Unauthorized" and answered[0][1]["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(b"".join(body)) == {"error": "unauthorized", "detail": MSG_NEED_TOKEN}


def test_ibworker_serves_metrics_on_the_port_metrics_port_names(paper_gateway, redis_url):
    import socket
    import subprocess
    import sys
    from pathlib import Path

    from tests.harness import subprocess_env

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "manage.py", "ibworker", "--port", str(paper_gateway.port), "--heartbeat-interval", "0.5"],
        cwd=Path(__file__).resolve().parents[2],
        env=subprocess_env(METRICS_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def connected() -> bool:
        assert process.poll() is None, process.stdout.read()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                text = response.read().decode()
        except OSError:
            return False
        return 'ibworker_connected{client_id="1"} 1.0' in text

    try:
        wait_until(connected, timeout=30, what="the ibworker process's /metrics to say it is connected")
        process.terminate()
        assert process.wait(timeout=10) == 0  # the metrics thread does not hold the stop up
    finally:
        if process.poll() is None:
            process.kill()


def test_a_metrics_port_in_use_is_logged_and_the_worker_goes_on_without_it(caplog):
    import socket

    from trading.observability.worker import WorkerMetrics

    metrics = WorkerMetrics(worker=None)  # the worker is read only when scraped
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        metrics.start(host="127.0.0.1", port=port)
    assert metrics.server is None
    assert f"metrics not served on 127.0.0.1:{port}: Address already in use" in caplog.text
