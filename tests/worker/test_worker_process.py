"""`manage.py ibworker` as a process: it connects, heartbeats, and exits 0 on SIGTERM within seconds."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.harness import subprocess_env, wait_until
from trading.models import ActivityEntry, WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_it_exits_cleanly_on_a_stop_signal(paper_gateway, redis_url, sig):
    process = subprocess.Popen(
        [sys.executable, "manage.py", "ibworker", "--port", str(paper_gateway.port), "--heartbeat-interval", "0.5"],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(
            lambda: WorkerHeartbeat.objects.filter(connected=True).exists() or process.poll() is not None,
            timeout=30,
            what="the worker's first connected heartbeat",
        )
        assert process.poll() is None, process.stdout.read()
        started = time.monotonic()
        process.send_signal(sig)
        code = process.wait(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
    output = process.stdout.read()
    assert code == 0, output
    assert elapsed < 5
    assert paper_gateway.connected_clients() == []
    assert ActivityEntry.objects.filter(message="IB worker stopped").exists()
    assert WorkerHeartbeat.objects.get().connected is False
