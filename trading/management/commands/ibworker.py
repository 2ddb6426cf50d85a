"""`manage.py ibworker`: the one long-lived process connected to IB (see trading/worker/service.py).

`ibworker` runs the worker of the `default` IB connection (the environment, or --host/--port/--client-id);
`ibworker --connection NAME` runs the worker of that connection's row (trading/connections/). Each
worker's owner lease is keyed by its connection and client id, so two gateways may each have a client 1.
Every connection's worker loads the same extensions (worker_extensions): it executes the runs routed to
its connection (by the account they name; trading/intents/runs.py::run_account_resolve), answers the
order ticket for its accounts, and closes out its own phantom rows; every row it records carries its
connection.
"""

import asyncio
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from console.embedded_redis import ensure_embedded_redis, socket_from_url
from trading import iblib
from trading.connections.services import ConnectionProblem, connection_default_sync, connection_get
from trading.models import DEFAULT_CONNECTION
from trading.worker.service import STANDBY_POLL, IBWorker, WorkerOptions, worker_name

CONNECTION_AND_FLAGS = "give either --connection or --host/--port/--client-id (a connection's row has them)"
CONNECTION_DISABLED = "connection {name!r} is disabled; `manage.py connection enable {name}` first"
EXIT_USAGE = 2


class Command(BaseCommand):
    help = "Run the IB worker: connect, reconcile, record and broadcast IB events, run handlers and intents."

    def add_arguments(self, parser):
        parser.add_argument(
            "--connection",
            default=None,
            help="Run the worker of this IB connection (manage.py connection list): host, port, client id, "
            "mode and account come from its row. Default: the environment's `default` connection.",
        )
        parser.add_argument("--host", default=None, help="Gateway host (IB_HOST).")
        parser.add_argument("--port", type=int, default=None, help="Gateway port (IB_PORT).")
        parser.add_argument("--client-id", type=int, default=None, help="Client id (IB_CLIENT_ID).")
        parser.add_argument(
            "--handlers", action="append", default=None, help="Handler file or folder (repeatable; IB_DAEMON_HANDLERS)."
        )
        parser.add_argument("--heartbeat-interval", type=float, default=2.0)
        parser.add_argument("--connect-timeout", type=float, default=10.0)
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=settings.METRICS_PORT or None,
            help="Serve Prometheus /metrics on this port (METRICS_PORT; default: not served).",
        )
        parser.add_argument(
            "--metrics-host", default=settings.METRICS_HOST, help="Address /metrics binds to (METRICS_HOST; 127.0.0.1)."
        )
        parser.add_argument(
            "--standby",
            action="store_true",
            help="Wait while another worker owns the client id, and take over when it dies (instead of exiting 3).",
        )
        parser.add_argument(
            "--standby-poll", type=float, default=STANDBY_POLL, help="Seconds between a standby's looks at the lease."
        )

    def handle(
        self, *args, connection, host, port, client_id, handlers, heartbeat_interval, connect_timeout, metrics_port,
        metrics_host, standby, standby_poll, **options,
    ):
        logging.getLogger(iblib.LOGGER).setLevel(logging.WARNING)
        # Each failed connect is recorded by the worker once per kind; ib_insync would log two errors per retry.
        logging.getLogger(f"{iblib.LOGGER}.client").setLevel(logging.CRITICAL)
        target = self._target(connection, host=host, port=port, client_id=client_id)
        if settings.REDIS_EMBEDDED:
            ensure_embedded_redis(socket_from_url(settings.REDIS_URL))
        worker_options = WorkerOptions(
            **target,
            handler_paths=handlers,
            heartbeat_interval=heartbeat_interval,
            connect_timeout=connect_timeout,
            var_dir=settings.VAR_DIR,
            metrics_port=metrics_port,
            metrics_host=metrics_host,
            standby=standby,
            standby_poll=standby_poll,
        )
        worker = IBWorker(worker_options)
        code = asyncio.run(self._run(worker))
        if worker.refusal:  # another worker owns this client id: one line, a non-zero exit, nothing touched
            self.stderr.write(f"ibworker: {worker.refusal}")
        raise SystemExit(code)

    def _target(self, name: str | None, *, host, port, client_id) -> dict:
        """Where this worker connects and what it is, from the flags of today or from a connection's row."""
        if name is not None and (host, port, client_id) != (None, None, None):
            raise CommandError(CONNECTION_AND_FLAGS, returncode=EXIT_USAGE)
        try:
            if name is None or name == DEFAULT_CONNECTION:
                row = connection_default_sync()  # the environment's row, shown in the admin, kept in step
            else:
                row = connection_get(name=name)
        except ConnectionProblem as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from None
        if not row.enabled:
            raise CommandError(CONNECTION_DISABLED.format(name=row.name), returncode=EXIT_USAGE)
        if name is None:  # today's worker: the environment, each value overridable by its flag
            return {
                "host": host or settings.IB_HOST,
                "port": port or settings.IB_PORT,
                "client_id": settings.IB_CLIENT_ID if client_id is None else client_id,
                "mode": settings.TRADING_MODE,
                "account": settings.IB_ACCOUNT,
                "connection": DEFAULT_CONNECTION,
                "name": worker_name(DEFAULT_CONNECTION),
            }
        return {
            "host": row.connect_host,
            "port": row.port,
            "client_id": row.client_id,
            "mode": row.mode,
            "account": row.accounts[0] if row.accounts else "",
            "connection": row.name,
            "name": worker_name(row.name),
        }

    async def _run(self, worker: IBWorker) -> int:
        for extension in worker_extensions():
            worker.extensions.append(extension)
        return await worker.run()


def worker_extensions() -> list:
    """Extensions the worker loads: phantom order rows closed out after a reconnect (first: it fixes the
    next order id before any run can place an order), intent execution, the order ticket's quotes and
    previews, the equity snapshots, letting go of ib_insync's recorded done orders, fills and unused tickers.

    Every connection's worker loads them all: it executes the runs of its own connection (they are
    routed by account: run_claim takes only those), answers the order ticket for its accounts, and closes
    out only its own connection's phantom rows (order rows are keyed by connection)."""
    from trading.intents.desk import OrderDesk
    from trading.intents.executor import IntentExecutor
    from trading.worker.equity import EquityRecorder
    from trading.worker.phantoms import PhantomSweeper
    from trading.worker.retention import SessionRetention

    return [PhantomSweeper(), IntentExecutor(), OrderDesk(), EquityRecorder(), SessionRetention()]
