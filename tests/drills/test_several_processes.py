"""Drill: the console's processes spread over "hosts" that share nothing but the database and Redis.

Two web processes (daphne, as `up` starts it), two q2 clusters, an IB worker and its standby
(`ibworker --standby`), each a process of its own with a var dir of its own (CONSOLE_VAR_DIR) and its own
port, all on the test's DATABASE_URL and REDIS_URL — what docs/DEPLOY.md's topology runs on several
machines. CI runs it in both passes (on SQLite the "hosts" share a file: the PostgreSQL pass is the
real one). It proves:

* an order posted to web B runs on the worker (through a q2 cluster) and its fill is on web A — in
  web A's REST API and pushed live to a dashboard socket held open on web A;
* with a second account (DU2, its own gateway, connection `desk2` and worker process), an order for DU2
  posted to web B runs on desk2's worker and fills at DU2's gateway only, and web A lists and pushes its fill;
* web B and cluster A SIGKILLed the moment a run was submitted (202, not waited for): it completes through the
  survivors, and the next order through web A as well;
* the active worker SIGKILLed with a resting order at the gateway that fills while no worker is
  connected: the standby takes over within 15 s, records that fill once, and runs what is posted next;
* nothing lost, nothing twice: every execution at the gateway is one fill row, every order one row.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from django.db import connections

from bench.wsclient import LiveSocket, session_cookie_for
from tests.conftest import redis_purge_test_keys
from tests.drills.conftest import assert_ledger_matches_gateway
from tests.drills.test_standby_takeover import TAKEOVER_DEADLINE, Worker, workers  # noqa: F401 (the fixture)
from tests.harness import subprocess_env, wait_until
from trading.connections.services import connection_add
from trading.ibsim.testing import TEST_DEFAULTS, run_in_thread
from trading.models import Fill, IntentRun, RunStatus, WorkerLease
from trading.tokens import token_create

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.drill]


class Cluster:
    """One `manage.py qcluster` with a var dir of its own; started, then waited for until it says it runs."""

    def __init__(self, var_dir: Path):
        var_dir.mkdir()
        self.log = var_dir / "qcluster.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=subprocess_env(CONSOLE_VAR_DIR=str(var_dir)),
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def running(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"qcluster exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
        return " running." in self.log.read_text()

    def kill(self) -> None:
        """SIGKILL the cluster's process group (its q2 worker processes too), and wait until all of them are gone."""
        if self.process.poll() is None:
            children = psutil.Process(self.process.pid).children(recursive=True)
            os.killpg(self.process.pid, signal.SIGKILL)
            psutil.wait_procs(children, timeout=10)
        self.process.wait(timeout=10)


@pytest.fixture
def clusters(tmp_path, redis_url):
    started: list[Cluster] = []

    def start(name: str) -> Cluster:
        cluster = Cluster(tmp_path / name)
        started.append(cluster)
        return cluster

    redis_purge_test_keys()  # earlier tests' queued tasks (no cluster was running) are not this drill's
    yield start
    for cluster in started:
        cluster.kill()


def api(web, method: str, path: str, token: str, body: dict | None = None, key: str | None = None) -> tuple[int, dict]:
    """One REST call to a web process: (status, JSON body)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{web.url}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def order(web, token: str, key: str, **fields) -> dict:
    """POST /api/orders on `web` and wait for the run to end; the answer, which must say succeeded."""
    status, body = api(web, "POST", "/api/orders?wait=30", token, {"dryRun": False, **fields}, key=key)
    assert status == 200 and body["run"]["status"] == RunStatus.SUCCEEDED, (status, body)
    return body


def fills_on(web, token: str, account: str) -> list[str]:
    """The execIds of `account`'s fills that `web` lists."""
    status, body = api(web, "GET", f"/api/fills?limit=500&account={account}", token)
    assert status == 200, body
    assert {fill["account"] for fill in body["items"]} <= {account}, body
    return [fill["exec_id"] for fill in body["items"]]


@pytest.fixture
def second_account(tmp_path):
    """DU2: a gateway of its own, connection `desk2` listing DU2 (client id 1 too, as a second IB login would
    have it), and its worker process; started on demand."""
    with run_in_thread(**{**TEST_DEFAULTS, "seed": 2, "tick_interval": 0}, account_id="DU2") as gateway:
        started: list[Worker] = []

        def start() -> tuple:
            gateway.set_price("SPY", 100.0)
            connection_add(name="desk2", host="127.0.0.1", port=gateway.port, client_id=1, accounts=["DU2"])
            worker = Worker(None, tmp_path / "desk2", "--connection", "desk2")
            started.append(worker)
            wait_until(worker.connected, timeout=30, what="desk2's worker connected")
            return gateway, worker

        try:
            yield start
        finally:
            for worker in started:
                worker.kill()


def kill_web(web) -> None:
    os.killpg(web.process.pid, signal.SIGKILL)  # the host is gone: no clean shutdown
    web.process.wait(timeout=10)


async def collect(sock: LiveSocket, exec_ids: list[str]) -> None:
    """Read web A's socket the whole time (as the page does), keeping every pushed fill's execId (a fill is
    pushed again when its commission report is recorded)."""
    try:
        while True:
            event = await sock.receive()
            if event and event["type"] == "fill.new":
                exec_ids.append(event["payload"]["exec_id"])
    except ConnectionError:
        pass


@pytest.mark.paper_gateway(tick_interval=0, account_id="DU1")
def test_webs_clusters_and_workers_on_separate_hosts_share_only_the_database_and_redis_and_a_kill_of_each_loses_nothing(
    paper_gateway,
    workers,  # noqa: F811 (the fixture imported above)
    second_account,
    start_web,
    clusters,
    trading_on,
    alice,
    tmp_path,
):
    for symbol in ("SPY", "QQQ", "IWM"):
        paper_gateway.set_price(symbol, 100.0)
    owner, standby = workers()
    for name in ("web-a", "web-b"):
        (tmp_path / name).mkdir()
    web_a = start_web(CONSOLE_VAR_DIR=str(tmp_path / "web-a"))
    web_b = start_web(CONSOLE_VAR_DIR=str(tmp_path / "web-b"))
    cluster_a, cluster_b = clusters("cluster-a"), clusters("cluster-b")
    wait_until(lambda: cluster_a.running() and cluster_b.running(), timeout=30, what="both q2 clusters running")
    token = token_create(user=alice, name="drill")[1]
    cookie = session_cookie_for(alice)
    gateway_exec_ids = lambda: sorted(e["exec_id"] for e in paper_gateway.executions())  # noqa: E731
    du2_gateway = None

    async def scenario() -> list[str]:
        nonlocal du2_gateway
        # One thread for the blocking calls, so the database connection they open is closed at the end.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1))
        pushed: list[str] = []
        sock = await LiveSocket.connect(web_a.port, cookie=cookie)
        first = await sock.receive(timeout=15)
        assert first and first["type"] == "snapshot", first
        listener = asyncio.create_task(collect(sock, pushed))
        try:
            # 1. Posted to web B: runs on the worker (lease token 1) through a q2 cluster; web A shows the fill.
            via_b = await asyncio.to_thread(order, web_b, token, "via-b", symbol="SPY", action="BUY", quantity=3)
            run = await asyncio.to_thread(IntentRun.objects.get, pk=via_b["run"]["id"])
            assert run.lease_token == 1
            await asyncio.to_thread(wait_until, lambda: len(gateway_exec_ids()) == 1, what="the fill at the gateway")
            await asyncio.to_thread(
                wait_until, lambda: fills_on(web_a, token, "DU1") == gateway_exec_ids(), what="web A's API to list the fill"
            )
            await asyncio.to_thread(
                wait_until, lambda: sorted(set(pushed)) == gateway_exec_ids(), what="web A's socket to get the fill"
            )
            from django_q.models import Task

            await asyncio.to_thread(
                wait_until, lambda: Task.objects.filter(name=f"intent-run-{run.pk}", success=True).exists(),
                what="a q2 cluster to hand the run over and mirror its outcome",
            )  # fmt: skip

            # 1b. A second account on a gateway, connection and worker of its own: an order for DU2 posted to
            # web B runs on desk2's worker and fills at DU2's gateway only; web A lists and pushes its fill.
            # From here on, two accounts are known: every order names its account.
            du2_gateway, du2_worker = await asyncio.to_thread(second_account)
            via_b_du2 = await asyncio.to_thread(
                order, web_b, token, "via-b-du2", symbol="SPY", action="BUY", quantity=6, account="DU2"
            )
            run = await asyncio.to_thread(IntentRun.objects.get, pk=via_b_du2["run"]["id"])
            assert (run.account, run.connection) == ("DU2", "desk2")
            du2_order = await asyncio.to_thread(lambda: run.orders.get())
            assert (du2_order.connection, du2_order.account, du2_order.client_id) == ("desk2", "DU2", 1)
            du2_exec_ids = lambda: sorted(e["exec_id"] for e in du2_gateway.executions())  # noqa: E731
            await asyncio.to_thread(wait_until, lambda: len(du2_exec_ids()) == 1, what="the fill at DU2's gateway")
            assert [(e["side"], e["shares"]) for e in du2_gateway.executions()] == [("BOT", 6.0)]
            assert len(gateway_exec_ids()) == 1, "DU1's gateway untouched"
            await asyncio.to_thread(
                wait_until, lambda: fills_on(web_a, token, "DU2") == du2_exec_ids(), what="web A's API to list DU2's fill"
            )
            await asyncio.to_thread(
                wait_until, lambda: set(du2_exec_ids()) <= set(pushed), what="web A's socket to get DU2's fill"
            )

            # 2. A run submitted to web A (not waited for), then web B and cluster A die: it completes through the survivors.
            status, queued = await asyncio.to_thread(
                api,
                web_a,
                "POST",
                "/api/orders?wait=0",
                token,
                {"symbol": "QQQ", "action": "BUY", "quantity": 2, "dryRun": False, "account": "DU1"},
            )
            assert status == 202, queued
            kill_web(web_b)
            cluster_a.kill()

            def queued_status():
                return api(web_a, "GET", f"/api/runs/{queued['run']['id']}", token)[1]["status"]

            await asyncio.to_thread(wait_until, lambda: queued_status() == RunStatus.SUCCEEDED, timeout=30, what="the queued run")
            await asyncio.to_thread(order, web_a, token, "after-web-b", symbol="QQQ", action="SELL", quantity=2, account="DU1")

            # 3. A resting order, then the active worker dies; the order fills while no worker is connected.
            resting = await asyncio.to_thread(
                order,
                web_a,
                token,
                "resting",
                symbol="IWM",
                action="BUY",
                quantity=4,
                order_type="LMT",
                limit_price="90",
                account="DU1",
            )
            perm_id = resting["orders"][0]["perm_id"]
            await asyncio.to_thread(owner.kill)
            paper_gateway.set_price("IWM", 89.0)
            assert any(e["perm_id"] == perm_id for e in paper_gateway.executions()), "filled at the gateway"
            await asyncio.to_thread(
                wait_until, standby.connected, timeout=TAKEOVER_DEADLINE, what="the standby connected and reconciled"
            )
            lease = await asyncio.to_thread(lambda: WorkerLease.objects.get(connection="default", client_id=1))
            assert (lease.token, lease.owner.endswith(f":{standby.pid}")) == (2, True)

            # 4. Posted after the takeover: runs on the standby (lease token 2); web A shows every fill once.
            last = await asyncio.to_thread(
                order, web_a, token, "after-takeover", symbol="SPY", action="SELL", quantity=3, account="DU1"
            )
            run = await asyncio.to_thread(IntentRun.objects.get, pk=last["run"]["id"])
            assert run.lease_token == 2
            await asyncio.to_thread(wait_until, lambda: len(gateway_exec_ids()) == 5, what="five fills at the gateway")
            await asyncio.to_thread(
                wait_until,
                lambda: sorted(fills_on(web_a, token, "DU1")) == gateway_exec_ids(),
                what="web A's API to list every fill",
            )
            live = lambda: {e["exec_id"] for e in paper_gateway.executions() if e["perm_id"] != perm_id}  # noqa: E731
            await asyncio.to_thread(wait_until, lambda: live() <= set(pushed), what="web A's socket to get every live fill")
            return pushed
        finally:
            listener.cancel()
            await sock.close()
            await asyncio.to_thread(connections.close_all)

    pushed = asyncio.run(scenario())
    assert set(pushed) <= set(Fill.objects.values_list("exec_id", flat=True)), "pushed only what was recorded"
    assert_ledger_matches_gateway(paper_gateway, account="DU1")
    assert_ledger_matches_gateway(du2_gateway, account="DU2")
    assert (Fill.objects.filter(account="DU1").count(), Fill.objects.filter(account="DU2").count()) == (5, 1)
    assert set(IntentRun.objects.values_list("status", flat=True)) == {RunStatus.SUCCEEDED}
