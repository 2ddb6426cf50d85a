"""`up` guards its var dir and its children: a second `up` on the same var dir refuses in one line before
touching anything, and a q2 cluster SIGKILLed under `up` (its workers left holding its stdout) is
noticed, cleaned up and restarted."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from console.embedded_redis import is_answering, socket_from_url
from console.env import redis_url
from tests.e2e.test_up import free_port, http_status
from tests.harness import subprocess_env, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def up_env(var_dir: Path) -> dict:
    env = subprocess_env(CONSOLE_VAR_DIR=str(var_dir))
    env.pop("REDIS_URL")  # the embedded Redis under var_dir: what a second `up` used to shut down
    return env


@pytest.fixture
def running_up(tmp_path):
    """`manage.py up` on tmp_path, serving; yields (web port, log path); SIGTERMed at teardown."""
    web, gateway = free_port(), free_port()
    log = tmp_path / "up.log"
    with log.open("w") as out:
        up = subprocess.Popen(
            [sys.executable, "manage.py", "up", "--no-demo", "--port", str(web), "--ib-port", str(gateway)],
            cwd=ROOT, env=up_env(tmp_path), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(lambda: "started cluster" in log.read_text() or up.poll() is not None,
                   timeout=90, what="up to start every program")  # fmt: skip
        assert up.poll() is None, log.read_text()
        yield web, log
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=60)


def test_a_second_up_on_the_same_var_dir_refuses_in_one_line_and_leaves_the_first_untouched(tmp_path, running_up):
    web, log = running_up
    redis_socket = socket_from_url(redis_url("", var_dir=tmp_path))
    assert is_answering(redis_socket)

    second = subprocess.run(
        [sys.executable, "manage.py", "up", "--no-demo", "--port", str(free_port()), "--ib-port", str(free_port())],
        cwd=ROOT, env=up_env(tmp_path), capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert second.returncode != 0
    lines = (second.stdout + second.stderr).strip().splitlines()
    assert len(lines) == 1 and "another `up` (pid" in lines[0] and f"is already running on {tmp_path}" in lines[0], lines
    assert is_answering(redis_socket), "the first one's Redis still runs"
    assert http_status(f"http://127.0.0.1:{web}/admin/login/") == 200
    assert "exited with code" not in log.read_text()


def test_a_q2_cluster_killed_under_up_is_noticed_its_workers_killed_and_it_is_restarted(running_up):
    _, log = running_up
    cluster = int(re.search(r"started cluster \(pid (\d+)\)", log.read_text()).group(1))
    wait_until(lambda: len(group(cluster)) >= 3, timeout=30, what="the cluster's q2 processes")
    workers = [pid for pid in group(cluster) if pid != cluster]

    os.kill(cluster, signal.SIGKILL)  # the main process only: its workers are orphaned, holding its stdout

    wait_until(lambda: "cluster exited with code -9; restart #1" in log.read_text(), timeout=15, what="the exit to be logged")
    wait_until(lambda: len(re.findall(r"started cluster \(pid", log.read_text())) == 2, timeout=15, what="the restart")
    wait_until(lambda: not set(workers) & set(group(cluster)), timeout=15, what="the orphaned workers killed")


def group(pgid: int) -> list[int]:
    """The live processes of a process group (`up` starts each program in a group of its own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            state, _, group_id = stat.rsplit(")", 1)[1].split()[:3]
            if int(group_id) == pgid and state != "Z":
                found.append(int(entry.name))
    return found
