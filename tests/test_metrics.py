"""The web's /metrics: refused without a token from anywhere but localhost; runs, heartbeats and
owner leases read from the database, in Prometheus text format."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from trading.models import IntentRun, RunStatus, WorkerHeartbeat
from trading.observability.access import MSG_INVALID_TOKEN, MSG_NEED_TOKEN, MSG_NOT_BEARER
from trading.tokens import token_create, token_revoke
from trading.worker.lease import lease_acquire, lease_release

pytestmark = pytest.mark.django_db

REMOTE = "203.0.113.9"


def samples(response) -> dict:
    """{(sample name, frozenset of labels): value} of a /metrics answer."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def value(found: dict, name: str, **labels) -> float:
    return found[(name, frozenset(labels.items()))]


def test_it_refuses_a_remote_caller_without_a_token(client):
    response = client.get("/metrics", REMOTE_ADDR=REMOTE)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "detail": MSG_NEED_TOKEN}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_treats_a_request_through_a_local_proxy_as_remote(client):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=REMOTE)
    assert response.status_code == 401 and response.json()["detail"] == MSG_NEED_TOKEN


def test_it_refuses_a_wrong_or_revoked_token_even_from_localhost(client, alice):
    token, plaintext = token_create(user=alice, name="prometheus")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {plaintext}x")
    assert wrong.status_code == 401 and wrong.json()["detail"] == MSG_INVALID_TOKEN
    basic = client.get("/metrics", HTTP_AUTHORIZATION="Basic YWxpY2U6cGFzcw==")
    assert basic.status_code == 401 and basic.json()["detail"] == MSG_NOT_BEARER
    token_revoke(token=token)
    revoked = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert revoked.status_code == 401 and revoked.json()["detail"] == MSG_INVALID_TOKEN


def test_it_serves_a_remote_caller_with_a_read_only_token_and_localhost_without_one(client, bob):
    _, plaintext = token_create(user=bob, name="prometheus", read_only=True)
    assert samples(client.get("/metrics", REMOTE_ADDR=REMOTE, HTTP_AUTHORIZATION=f"Bearer {plaintext}"))
    assert samples(client.get("/metrics", REMOTE_ADDR="127.0.0.1"))
    assert samples(client.get("/metrics", REMOTE_ADDR="::1"))


def run(intent: str, status: str, seconds: float | None = None) -> IntentRun:
    row = IntentRun.objects.create(intent=intent, source="api", status=status)
    if seconds is not None:
        started = timezone.now() - timedelta(minutes=5)
        IntentRun.objects.filter(pk=row.pk).update(started_at=started, finished_at=started + timedelta(seconds=seconds))
    return row


def test_it_counts_runs_by_status_and_times_the_finished_ones(client):
    run("summary", RunStatus.SUCCEEDED, 0.3)
    run("summary", RunStatus.SUCCEEDED, 4.0)
    run("summary", RunStatus.FAILED, 40.0)
    queued = run("close_all", RunStatus.QUEUED)
    IntentRun.objects.filter(pk=queued.pk).update(created_at=timezone.now() - timedelta(seconds=90))

    found = samples(client.get("/metrics"))
    assert value(found, "console_intent_runs", intent="summary", status="succeeded") == 2
    assert value(found, "console_intent_runs", intent="summary", status="failed") == 1
    assert value(found, "console_intent_runs", intent="summary", status="queued") == 0
    assert value(found, "console_intent_runs", intent="close_all", status="queued") == 1
    assert 90 <= value(found, "console_intent_runs_oldest_queued_seconds") < 120

    ok = {"intent": "summary", "status": "succeeded"}
    assert value(found, "console_intent_run_duration_seconds_bucket", le="0.1", **ok) == 0
    assert value(found, "console_intent_run_duration_seconds_bucket", le="0.5", **ok) == 1
    assert value(found, "console_intent_run_duration_seconds_bucket", le="5.0", **ok) == 2
    assert value(found, "console_intent_run_duration_seconds_bucket", le="+Inf", **ok) == 2
    assert value(found, "console_intent_run_duration_seconds_count", **ok) == 2
    assert value(found, "console_intent_run_duration_seconds_sum", **ok) == pytest.approx(4.3, abs=0.001)  # SQLite: julianday()
    failed = {"intent": "summary", "status": "failed"}
    assert value(found, "console_intent_run_duration_seconds_bucket", le="30.0", **failed) == 0
    assert value(found, "console_intent_run_duration_seconds_count", **failed) == 1
    assert (
        "console_intent_run_duration_seconds_count",
        frozenset({"intent": "close_all", "status": "queued"}.items()),
    ) not in found


def test_it_reports_each_workers_heartbeat_and_each_client_ids_lease(client):
    now = timezone.now()
    details = {"recorder_queue": 7, "recorder_lag_s": 1.5, "broadcast": {"dropped": 3}, "recorder": {"dead_letters": 2}}
    WorkerHeartbeat.objects.create(
        name="ibworker", mode="paper", connected=True, gateway="10.0.0.5:4002", loop_lag_ms=12, details=details, updated_at=now
    )
    WorkerHeartbeat.objects.create(name="ibworker-b", connected=True, updated_at=now - timedelta(minutes=5))
    token = lease_acquire(client_id=1, owner="host-a:4242", ttl=10)

    found = samples(client.get("/metrics"))
    assert value(found, "console_worker_up", worker="ibworker") == 1
    assert value(found, "console_worker_connected", worker="ibworker") == 1
    assert value(found, "console_worker_up", worker="ibworker-b") == 0
    assert value(found, "console_worker_connected", worker="ibworker-b") == 0  # a stale heartbeat is not connected
    assert value(found, "console_worker_heartbeat_age_seconds", worker="ibworker-b") >= 300
    assert value(found, "console_worker_info", worker="ibworker", mode="paper", gateway="10.0.0.5:4002") == 1
    assert value(found, "console_worker_loop_lag_seconds", worker="ibworker") == pytest.approx(0.012)
    assert value(found, "console_worker_recorder_queue_depth", worker="ibworker") == 7
    assert value(found, "console_worker_recorder_lag_seconds", worker="ibworker") == 1.5
    assert value(found, "console_worker_broadcast_dropped_total", worker="ibworker") == 3
    assert value(found, "console_worker_recorder_dead_letters_total", worker="ibworker") == 2
    assert value(found, "console_worker_lease_live", client_id="1") == 1
    assert value(found, "console_worker_lease_token", client_id="1") == token
    assert value(found, "console_worker_lease_holder_info", client_id="1", owner="host-a:4242") == 1
    assert 0 < value(found, "console_worker_lease_expires_in_seconds", client_id="1") <= 10

    lease_release(client_id=1, token=token)
    found = samples(client.get("/metrics"))
    assert value(found, "console_worker_lease_live", client_id="1") == 0
    assert value(found, "console_worker_lease_holder_info", client_id="1", owner="host-a:4242") == 0


def alert_rule_names(prefix: str) -> set[str]:
    """The metric names docs/DEPLOY.md's suggested alert rules use (the YAML block must parse)."""
    import re
    from pathlib import Path

    import yaml

    text = (Path(__file__).resolve().parent.parent / "docs" / "DEPLOY.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S) if b.startswith("groups:"))
    rules = [rule for group in yaml.safe_load(block)["groups"] for rule in group["rules"]]
    assert rules and all({"alert", "expr"} <= rule.keys() for rule in rules)
    return {name for rule in rules for name in re.findall(rf"\b{prefix}[a-z_]+", rule["expr"])}


def test_every_web_metric_the_suggested_alerts_use_is_served(client):
    run("summary", RunStatus.FAILED, 2.0)
    run("summary", RunStatus.QUEUED)
    WorkerHeartbeat.objects.create(name="ibworker", connected=True, updated_at=timezone.now())
    lease_acquire(client_id=1, owner="host-a:4242", ttl=10)
    served = {name for name, _ in samples(client.get("/metrics"))}
    used = alert_rule_names("console_")
    assert used and used <= served, f"alert rules name metrics the web does not serve: {sorted(used - served)}"
