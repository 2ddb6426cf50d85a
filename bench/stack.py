"""The console's processes as the benchmarks start them, on one backend, in a scratch folder.

``sqlite``: a SQLite file and the embedded Redis (unix socket) under the scratch folder, as
``python dev.py up`` runs. ``postgres``: a fresh database ``bench_<pid>`` on 127.0.0.1:5432 (dropped
afterwards) and the machine's Redis (keys namespaced by ``CONSOLE_PREFIX``). The bench script itself
imports Django against the same database, so it can read rows and create users and tokens.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = cpu
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()} {platform.release()}"


def load_average() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def summary_ms(latencies: list[float]) -> dict:
    """p50/p95/p99/max of latencies given in seconds, in milliseconds."""
    if not latencies:
        return {"n": 0}
    ms = [v * 1000 for v in latencies]
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 50), 2),
        "p95": round(percentile(ms, 95), 2),
        "p99": round(percentile(ms, 99), 2),
        "max": round(max(ms), 2),
        "mean": round(statistics.fmean(ms), 2),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class Stack:
    """Scratch folder, environment and child processes of one benchmark run."""

    def __init__(self, backend: str, *, name: str = "bench"):
        assert backend in ("sqlite", "postgres")
        self.backend = backend
        self.dir = Path(tempfile.mkdtemp(prefix=f"{name}-{backend}-"))
        self.out = self.dir / "out"
        self.out.mkdir()
        self.prefix = f"{name}{os.getpid()}"
        self.db_name = os.environ.get("BENCH_PG_DB") or f"bench_{os.getpid()}"  # a name of your own on a shared server
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DATABASE_URL", "REDIS_URL"))}
        self.env.update(
            CONSOLE_VAR_DIR=str(self.dir), CONSOLE_PREFIX=self.prefix, DJANGO_SETTINGS_MODULE="console.settings",
            PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT), BENCH_OUT=str(self.out), LOG_LEVEL="INFO",
            # As deployed: DEBUG off (DEBUG on records every SQL query: ~10% of the worker's time under load).
            DEBUG=os.environ.get("BENCH_DEBUG", "false"), SECRET_KEY="bench-only-secret-key-" + "x" * 40,
        )  # fmt: skip
        if backend == "postgres":
            self.env["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.db_name
            self.env["REDIS_URL"] = REDIS_URL
        self.processes: dict[str, subprocess.Popen] = {}
        self.gateway_port = self.control_port = self.web_port = None

    # --- setup ---------------------------------------------------------------------------------

    def setup_django(self) -> None:
        """Create the database, migrate, and set this process up against it."""
        if self.backend == "postgres":
            self._pg(f'CREATE DATABASE "{self.db_name}"')
        os.environ.update(self.env)
        for key in ("DATABASE_URL", "REDIS_URL"):
            if key not in self.env:
                os.environ.pop(key, None)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        if settings.REDIS_EMBEDDED:
            from console.embedded_redis import ensure_embedded_redis, socket_from_url

            ensure_embedded_redis(socket_from_url(settings.REDIS_URL))
        call_command("migrate", verbosity=0)

    def _pg(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
            connection.execute(sql)

    def teardown(self) -> None:
        for name in list(self.processes)[::-1]:
            self.stop(name)
        if self.backend == "postgres":
            from django.db import connections

            connections.close_all()
            self._pg(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        else:
            from django.conf import settings

            from console.embedded_redis import socket_from_url, stop_embedded_redis

            stop_embedded_redis(socket_from_url(settings.REDIS_URL))

    # --- processes -----------------------------------------------------------------------------

    def start(self, name: str, command: list[str], **env: str) -> subprocess.Popen:
        log = open(self.dir / f"{name}.log", "w")
        process = subprocess.Popen(
            command, cwd=ROOT, env={**self.env, **env}, stdout=subprocess.PIPE if name.startswith("gateway") else log,
            stderr=log, text=True, start_new_session=True,
        )  # fmt: skip
        self.processes[name] = process
        return process

    def stop(self, name: str, timeout: float = 30.0) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def start_gateway(self, *, tick_interval: float = 0.0, extra_stocks: int = 0, master: bool = True,
                      name: str = "gateway", account: str | None = None, master_client_id: int = 1) -> tuple[int, int]:  # fmt: skip
        """A paper gateway; its (port, control port). The one named `gateway` is `gateway_port`/`control_port`;
        more (`gateway-2`, …, each with its own `account`) serve further IB connections."""
        command = [sys.executable, "bench/gateway_proc.py", "--port", "0", "--control-port", "0",
                   "--tick-interval", str(tick_interval), "--log-level", "WARNING", "--account-update-interval", "180"]  # fmt: skip
        if master:
            command += ["--master-client-id", str(master_client_id)]
        if extra_stocks:
            command += ["--extra-stocks", str(extra_stocks)]
        if account:
            command += ["--account", account]
        process = self.start(name, command)
        words = dict(word.split("=") for word in process.stdout.readline().split()[2:])
        ports = int(words["port"]), int(words["control_port"])
        if name == "gateway":
            self.gateway_port, self.control_port = ports
        return ports

    def start_worker(self, *, symbols: tuple[str, ...] = (), example_handlers: bool = True, **env: str) -> None:
        command = [sys.executable, "bench/worker_proc.py", "--port", str(self.gateway_port), "--heartbeat-interval", "1"]
        if example_handlers:
            command += ["--handlers", str(ROOT / "handlers")]
        command += ["--handlers", str(ROOT / "bench" / "handlers")]
        self.start("worker", command, BENCH_SYMBOLS=",".join(symbols), **env)
        from trading.worker.health import heartbeat_is_fresh

        wait_for(heartbeat_is_fresh, timeout=60, what=f"the worker to connect (log: {self.dir / 'worker.log'})")

    def start_ibworker(self, name: str, *, standby: bool = False, heartbeat_interval: float = 2.0, standby_poll: float = 1.0,
                       connection: str | None = None, metrics_port: int | None = None):  # fmt: skip
        """Plain `manage.py ibworker` (no measuring hook), as deployed; a standby waits on the owner's lease.
        `connection`: the worker of that IB connection row (default: the `gateway` process's port).
        Returns once the owner's heartbeat is connected, or once the standby says it is waiting."""
        target = ["--connection", connection] if connection else ["--port", str(self.gateway_port)]
        command = [sys.executable, "manage.py", "ibworker", *target, "--heartbeat-interval", str(heartbeat_interval)]
        if metrics_port:
            command += ["--metrics-port", str(metrics_port)]
        if standby:
            command += ["--standby", "--standby-poll", str(standby_poll)]
        process = self.start(name, command)
        log = self.dir / f"{name}.log"
        if standby:
            wait_for(lambda: "waiting to take over" in log.read_text(), timeout=60, what=f"the standby to wait (log: {log})")
        else:
            from trading.models import WorkerHeartbeat

            wait_for(lambda: WorkerHeartbeat.objects.filter(pid=process.pid, connected=True).exists(), timeout=60,
                     what=f"the worker to connect (log: {log})")  # fmt: skip
        return process

    def start_web(self, app: str = "console.asgi:application") -> None:
        self.web_port = free_port()
        self.start("web", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.web_port), app])
        wait_for(self._web_answers, timeout=60, what=f"the web process (log: {self.dir / 'web.log'})")

    def _web_answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/api/health", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def start_cluster(self) -> None:
        self.start("cluster", [sys.executable, "manage.py", "qcluster"])

    # --- gateway control -----------------------------------------------------------------------

    def control(self, line: str, port: int | None = None):
        """A control command to the `gateway` process (or the gateway whose control port is `port`)."""
        with socket.create_connection(("127.0.0.1", port or self.control_port), timeout=30) as conn:
            conn.sendall(line.encode() + b"\n")
            reply = conn.makefile().readline().strip()
        if not reply.startswith("OK"):
            raise RuntimeError(f"gateway control {line!r}: {reply}")
        return json.loads(reply[3:])

    def gateway_stamps(self) -> dict:
        path = self.out / "gateway-stamps.json"
        self.control(f"dump {path}")
        return json.loads(path.read_text())

    def worker_stamps(self) -> tuple[dict, dict]:
        """Stop the worker (it writes its stamps at exit) and read the recorder's and the handlers' stamps."""
        self.stop("worker")
        recorder = json.loads(next(self.out.glob("recorder-*.json")).read_text())
        handlers = json.loads(next(self.out.glob("handlers-*.json")).read_text())
        return recorder, handlers


def profile_start(stack: Stack, process: str, label: str, seconds: float) -> None:
    """Sample a process with py-spy (pip install py-spy) into out/profile-<label>.txt (collapsed stacks)."""
    import shutil

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out = stack.out / f"profile-{process}-{label}.txt"
    subprocess.Popen([spy, "record", "--pid", str(stack.pid(process)), "--duration", str(int(seconds)), "--rate", "100",
                      "--format", "raw", "--output", str(out), "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    print(f"profiling {process} into {out}")


def print_header(title: str, backend: str) -> None:
    print(f"== {title} [{backend}]")
    print(f"machine: {machine()}")
    print(f"load average at start: {load_average()}")


ORDER_SYMBOLS = ("SPY", "QQQ", "AAPL", "MSFT", "NVDA")


async def order_client(port: int, client_id: int = 2):
    """The load generator: a second ib_insync client (id 2) with no client-side throttling, and the
    qualified contracts of ORDER_SYMBOLS."""
    from trading.iblib import IB, Stock

    ib = IB()
    await ib.connectAsync("127.0.0.1", port, clientId=client_id, timeout=20)
    ib.client.MaxRequests = 0
    contracts = [Stock(s, "SMART", "USD") for s in ORDER_SYMBOLS]
    await ib.qualifyContractsAsync(*contracts)
    return ib, contracts


async def place_paced(ib, contracts, *, rate: float, count: int, order_ref: str, first: int = 0) -> None:
    """`count` one-share market orders at `rate` a second, buying and selling in turn, round the contracts
    (`first` continues the numbering of an earlier call)."""
    from trading.iblib import MarketOrder

    loop = asyncio.get_running_loop()
    began = loop.time()
    for i in range(count):
        delay = began + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        n = first + i
        ib.placeOrder(contracts[n % len(contracts)], MarketOrder("BUY" if n % 2 == 0 else "SELL", 1, orderRef=order_ref))
