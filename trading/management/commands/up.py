"""`manage.py up`: run the whole console — embedded Redis (unless REDIS_URL), the paper gateway (unless a
real IB_HOST/IB_PORT is configured, or --paper forces it), the web server, the IB worker and the
django-q2 cluster — supervised together (console/supervisor.py). Ctrl-C or SIGTERM stops every child.

One `up` per var dir (settings.VAR_DIR: the SQLite file, the embedded Redis socket, the gateway's
state): `up` holds an exclusive lock on var/up.lock for its whole life and takes it before it touches
anything; a second `up` on the same var dir refuses in one line.

One IB worker per enabled IB connection (trading/connections/): the `default` connection is the
environment's (brought in step with it here, at start, so the admin shows what runs) and starts
exactly as before connections existed; every other enabled connection gets `ibworker --connection
NAME`, and a paper one with no host also gets its own embedded paper gateway on its port.

Demo mode (default only with the paper gateway): paper trading enabled on the paper gateway and a
schedule that runs the orchestrator every few minutes, so orders, fills and positions appear soon
after start. It is refused against a real gateway.
"""

import asyncio
import fcntl
import os
import socket
import sys
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from console.embedded_redis import is_answering, server_command, socket_from_url, stop_embedded_redis
from console.supervisor import Program, Supervisor
from trading.models import DEFAULT_CONNECTION

PORT_IN_USE = "port {port} on {host} is already in use ({what}); is the console already running? (try --{option})"
UP_RUNNING = "another `up` (pid {pid}) is already running on {var_dir}; stop it first, or give this one its own CONSOLE_VAR_DIR"
DEMO_REAL_GATEWAY = "demo mode is only for the paper gateway; a real gateway is configured (IB_HOST/IB_PORT)"
PORT_TWICE = "port {port} is asked for twice (the paper gateway of connection {name!r}, and {other}); give it another port"
DEFAULT_DISABLED = "connection 'default' is disabled: no worker for it (`manage.py connection enable default`)"


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def var_dir_lock(var_dir: Path) -> IO:
    """Hold var/up.lock exclusively (flock) for as long as the returned file stays open, or CommandError.

    The lock goes with the process however it ends (no stale lock after a SIGKILL); children do not
    inherit it (subprocesses close their file descriptors)."""
    handle = (var_dir / "up.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        handle.close()
        raise CommandError(UP_RUNNING.format(pid=pid, var_dir=var_dir)) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Command(BaseCommand):
    help = "Run the whole console (Redis, paper gateway, web, IB worker, q2 cluster) and stop it together."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Web server address (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Web server port (default 8000).")
        parser.add_argument("--paper", action="store_true", help="Start the paper gateway even if IB_HOST/IB_PORT are set.")
        parser.add_argument("--ib-port", type=int, default=None, help="Gateway port (default IB_PORT, 4002).")
        demo = parser.add_mutually_exclusive_group()
        demo.add_argument("--demo", dest="demo", action="store_true", default=None, help="Demo mode (paper gateway only).")
        demo.add_argument("--no-demo", dest="demo", action="store_false", help="No demo schedule or settings.")

    def handle(self, *args, host, port, paper, ib_port, demo, **options):
        self._lock = var_dir_lock(settings.VAR_DIR)  # first: a second `up` must not touch Redis, files or settings
        paper_gateway = paper or not settings.IB_GATEWAY_CONFIGURED
        ib_host = "127.0.0.1" if paper_gateway else settings.IB_HOST
        ib_port = ib_port or settings.IB_PORT
        if demo and not paper_gateway:
            raise CommandError(DEMO_REAL_GATEWAY)
        demo = paper_gateway if demo is None else demo
        connections = self._connections()
        default_enabled = connections.pop(DEFAULT_CONNECTION).enabled
        self._check_ports(host, port, ib_port if paper_gateway and default_enabled else None)
        self._check_embedded_ports(
            connections.values(), default_port=ib_port if paper_gateway and default_enabled else None, web_port=port
        )
        if demo:
            from trading.demo import demo_enable

            for line in demo_enable():
                self.stdout.write(f"demo: {line}")
        else:
            from trading.config import switch_state_line

            self.stdout.write(f"switches: {switch_state_line()}")  # which row stops trading, if any
        extras = list(connections.values())
        programs = self._programs(host, port, paper_gateway, ib_host, ib_port, extras=extras, default_enabled=default_enabled)
        self.stdout.write(
            f"Console: http://{host}:{port}/  admin: /admin/  API: /api/docs  "
            f"gateway: {'paper ' if paper_gateway else ''}{ib_host}:{ib_port}  — Ctrl-C stops everything."
        )
        if not default_enabled:
            self.stdout.write(DEFAULT_DISABLED)
        for row in extras:
            self.stdout.write(
                f"connection {row.name}: {'paper ' if row.embedded else ''}{row.endpoint} client id {row.client_id}, {row.mode}"
            )
        sys.exit(asyncio.run(Supervisor(programs).run()))

    def _connections(self) -> dict:
        """The default connection (in step with the environment) and every other enabled one, by name."""
        from trading.connections.services import ConnectionProblem, connection_default_sync, connection_list

        try:
            default = connection_default_sync()
        except ConnectionProblem as exc:
            raise CommandError(str(exc)) from None
        return {DEFAULT_CONNECTION: default, **{r.name: r for r in connection_list(enabled=True) if r.name != DEFAULT_CONNECTION}}

    def _check_embedded_ports(self, rows, *, default_port: int | None, web_port: int | None = None) -> None:
        taken = {web_port: "the web server"} if web_port is not None else {}
        if default_port is not None:
            taken[default_port] = "'default'"
        for row in rows:
            if not row.embedded:
                continue
            if row.port in taken:
                raise CommandError(PORT_TWICE.format(port=row.port, name=row.name, other=taken[row.port]))
            if not port_is_free("127.0.0.1", row.port):
                what = f"paper gateway of connection {row.name}"
                raise CommandError(PORT_IN_USE.format(port=row.port, host="127.0.0.1", what=what, option="ib-port"))
            taken[row.port] = repr(row.name)

    def _check_ports(self, host: str, port: int, ib_port: int | None) -> None:
        if not port_is_free(host, port):
            raise CommandError(PORT_IN_USE.format(port=port, host=host, what="web server", option="port"))
        if ib_port is not None and not port_is_free("127.0.0.1", ib_port):
            raise CommandError(PORT_IN_USE.format(port=ib_port, host="127.0.0.1", what="paper gateway", option="ib-port"))

    def _programs(self, host, port, paper_gateway, ib_host, ib_port, *, extras=(), default_enabled=True) -> list[Program]:
        """What `up` runs, in start order. `extras`: the enabled connections other than the default."""
        python = sys.executable
        manage = [python, "manage.py"]
        programs = []
        if settings.REDIS_EMBEDDED:
            socket_path = socket_from_url(settings.REDIS_URL)
            stop_embedded_redis(socket_path)  # one started in the background by a standalone command
            programs.append(
                Program("redis", server_command(socket_path, daemonize=False), ready=lambda: is_answering(socket_path))
            )
        if paper_gateway and default_enabled:
            state = settings.VAR_DIR / "paper-gateway-state.json"
            programs.append(
                Program(
                    "gateway",
                    [*manage, "ibsim", "--port", str(ib_port), "--state", str(state)],
                    ready=lambda: port_answers("127.0.0.1", ib_port),
                )
            )
        programs += [_embedded_gateway(manage, row) for row in extras if row.embedded]
        programs.append(
            Program(
                "web",
                [python, "-m", "daphne", "-b", host, "-p", str(port), "console.asgi:application"],
                ready=lambda: port_answers(host, port),
            )
        )
        if default_enabled:
            programs.append(Program("worker", [*manage, "ibworker", "--host", ib_host, "--port", str(ib_port)]))
        for row in extras:
            programs.append(Program(f"worker-{row.name}", [*manage, "ibworker", "--connection", row.name]))
        programs.append(Program("cluster", [*manage, "qcluster"]))
        return programs


def _embedded_gateway(manage: list[str], row) -> Program:
    """The paper gateway of a connection with no host: its own port, state file and account."""
    state = settings.VAR_DIR / f"paper-gateway-{row.name}-state.json"
    account = ["--account", row.accounts[0]] if row.accounts else []
    port = row.port
    return Program(
        f"gateway-{row.name}",
        [*manage, "ibsim", "--port", str(port), "--state", str(state), *account],
        ready=lambda: port_answers("127.0.0.1", port),
    )
