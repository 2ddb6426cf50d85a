"""`manage.py ibworker`: the one long-lived process connected to IB (see trading/worker/service.py)."""

import asyncio
import logging

from django.conf import settings
from django.core.management.base import BaseCommand

from console.embedded_redis import ensure_embedded_redis, socket_from_url
from trading.worker.service import STANDBY_POLL, IBWorker, WorkerOptions


class Command(BaseCommand):
    help = "Run the IB worker: connect, reconcile, record and broadcast IB events, run handlers and intents."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.IB_HOST, help="Gateway host (IB_HOST).")
        parser.add_argument("--port", type=int, default=settings.IB_PORT, help="Gateway port (IB_PORT).")
        parser.add_argument("--client-id", type=int, default=settings.IB_CLIENT_ID, help="Client id (IB_CLIENT_ID).")
        parser.add_argument(
            "--handlers", action="append", default=None, help="Handler file or folder (repeatable; IB_DAEMON_HANDLERS)."
        )
        parser.add_argument("--heartbeat-interval", type=float, default=2.0)
        parser.add_argument("--connect-timeout", type=float, default=10.0)
        parser.add_argument(
            "--standby",
            action="store_true",
            help="Wait while another worker owns the client id, and take over when it dies (instead of exiting 3).",
        )
        parser.add_argument(
            "--standby-poll", type=float, default=STANDBY_POLL, help="Seconds between a standby's looks at the lease."
        )

    def handle(
        self, *args, host, port, client_id, handlers, heartbeat_interval, connect_timeout, standby, standby_poll, **options
    ):
        logging.getLogger("ib_insync").setLevel(logging.WARNING)
        # Each failed connect is recorded by the worker once per kind; ib_insync would log two errors per retry.
        logging.getLogger("ib_insync.client").setLevel(logging.CRITICAL)
        if settings.REDIS_EMBEDDED:
            ensure_embedded_redis(socket_from_url(settings.REDIS_URL))
        worker_options = WorkerOptions(
            host=host,
            port=port,
            client_id=client_id,
            mode=settings.TRADING_MODE,
            handler_paths=handlers,
            account=settings.IB_ACCOUNT,
            heartbeat_interval=heartbeat_interval,
            connect_timeout=connect_timeout,
            var_dir=settings.VAR_DIR,
            standby=standby,
            standby_poll=standby_poll,
        )
        worker = IBWorker(worker_options)
        code = asyncio.run(self._run(worker))
        if worker.refusal:  # another worker owns this client id: one line, a non-zero exit, nothing touched
            self.stderr.write(f"ibworker: {worker.refusal}")
        raise SystemExit(code)

    async def _run(self, worker: IBWorker) -> int:
        for extension in worker_extensions():
            worker.extensions.append(extension)
        return await worker.run()


def worker_extensions() -> list:
    """Extensions the worker loads: phantom order rows closed out after a reconnect (first: it fixes the
    next order id before any run can place an order), intent execution, the order ticket's quotes and
    previews, the equity snapshots, letting go of ib_insync's recorded done orders, fills and unused tickers."""
    from trading.intents.desk import OrderDesk
    from trading.intents.executor import IntentExecutor
    from trading.worker.equity import EquityRecorder
    from trading.worker.phantoms import PhantomSweeper
    from trading.worker.retention import SessionRetention

    return [PhantomSweeper(), IntentExecutor(), OrderDesk(), EquityRecorder(), SessionRetention()]
