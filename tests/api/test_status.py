"""GET /api/worker: the worker's heartbeat as readers see it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from trading.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def test_a_worker_that_never_ran_is_reported_down(bob_api):
    body = bob_api.get("/api/worker").json()
    assert body["alive"] is False and body["connected"] is False and body["reason"] == "the IB worker has never run"


def test_a_fresh_heartbeat_is_a_connected_worker(bob_api, live_worker):
    WorkerHeartbeat.objects.filter(pk=live_worker.pk).update(gateway="127.0.0.1:4002", server_version=176, loop_lag_ms=1.5)
    body = bob_api.get("/api/worker").json()
    assert (body["alive"], body["connected"], body["gateway"], body["server_version"]) == (True, True, "127.0.0.1:4002", 176)


def test_a_stale_heartbeat_is_a_dead_worker(bob_api, live_worker):
    WorkerHeartbeat.objects.filter(pk=live_worker.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    body = bob_api.get("/api/worker").json()
    assert body["alive"] is False and "no heartbeat" in body["reason"]
    assert bob_api.get("/api/health").json()["worker_connected"] is False
