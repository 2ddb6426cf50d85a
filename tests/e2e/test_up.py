"""`manage.py up` as a newcomer runs it: every process comes up, an order goes through, SIGTERM stops all."""

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.harness import subprocess_env, wait_until
from trading.config import config_update
from trading.models import ConfigScope, Fill, Order, WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "tests" / "intents" / "files"
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except OSError:
        return 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_runs_the_whole_console_and_stops_every_child(tmp_path, redis_url):
    web, gateway = free_port(), free_port()
    env = subprocess_env(CONSOLE_VAR_DIR=str(tmp_path), INTENT_PATHS=str(FILES))
    if "REDIS_URL" in os.environ:
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    else:
        env.pop("REDIS_URL")  # the embedded Redis, started by up itself under tmp_path
    log = tmp_path / "up.log"
    with log.open("w") as out:
        up = subprocess.Popen(
            [sys.executable, "manage.py", "up", "--no-demo", "--port", str(web), "--ib-port", str(gateway)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(lambda: http_status(f"http://127.0.0.1:{web}/admin/login/") == 200 or up.poll() is not None,
                   timeout=60, what="the web server")  # fmt: skip
        assert up.poll() is None, log.read_text()
        wait_until(lambda: WorkerHeartbeat.objects.filter(connected=True).exists(), timeout=60, what="the worker heartbeat")
        config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True})

        result = subprocess.run(
            [sys.executable, "manage.py", "runintent", "test_market_buy", "--live", "--wait", "60"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr + log.read_text()[-3000:]
        wait_until(lambda: Fill.objects.filter(symbol="SPY").exists(), what="the fill recorded by the worker")
        assert Order.objects.get(symbol="SPY").status == "Filled"
    finally:
        up.send_signal(signal.SIGTERM)
        code = up.wait(timeout=40)
    text = log.read_text()
    pids = [int(pid) for pid in re.findall(r"started \w+ \(pid (\d+)\)", text)]
    assert {"redis", "gateway", "web", "worker", "cluster"} >= set(re.findall(r"started (\w+) \(pid", text)) >= {"gateway", "web", "worker", "cluster"}
    assert code == 0, text[-3000:]
    assert "all processes stopped" in text
    assert "did not stop" not in text, "every child stops on SIGTERM, the q2 cluster included (none is killed)"
    wait_until(lambda: not any(alive(pid) for pid in pids), timeout=10, what="every child to exit")


def test_up_reports_a_port_in_use_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "manage.py", "up", "--no-demo", "--port", str(port)],
            cwd=ROOT, env=subprocess_env(CONSOLE_VAR_DIR=str(tmp_path)), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use (web server)" in result.stderr
    assert "Traceback" not in result.stderr
