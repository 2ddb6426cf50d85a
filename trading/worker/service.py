"""The IB worker: one asyncio loop, one ib_insync `IB`, the only client of the gateway.

Lifecycle: take the owner lease of the client id (trading/worker/lease.py; refused → exit 3, having
touched nothing; a standby, `--standby`, instead looks at the lease until its owner is gone and takes
it over) → connect (with timeout; a 326 ends the attempt at once) → reconcile (IB's events are
recorded from its snapshot on) → the extensions' on_connected (the orphan sweep) → live (record,
broadcast, run handlers, claim runs) → on a drop, reconnect forever with capped, jittered backoff
and the same client id (IB binds orders to it) → on SIGTERM/SIGINT, disconnect cleanly, release the
lease and return 0. The heartbeat renews the lease; if it was taken over, the worker stops at once
without writing anything more and returns 4. Blocking work (the database) never runs on the loop:
the recorder and the heartbeat have their own threads; a lag monitor reports any stall.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.utils import timezone

from trading.handlers import CallbackReporter, HandlerManager
from trading.iblib import IB
from trading.live import live_event, worker_channel
from trading.models import DEFAULT_CONNECTION, ActivityKind
from trading.models.activity import Severity
from trading.observability.worker import WorkerMetrics
from trading.worker import connection as codes
from trading.worker.broadcast import Broadcaster
from trading.worker.connection import Backoff, State
from trading.worker.dbconn import connection_refresh
from trading.worker.events import EventRouter
from trading.worker.health import LoopLagMonitor, heartbeat_write, worker_name
from trading.worker.lease import LeaseHold, LeaseLost, lease_acquire, lease_held_message, lease_release, lease_ttl, owner_name
from trading.worker.pnl import PnlStreams
from trading.worker.positions import PositionLedger
from trading.worker.reconcile import reconcile_apply
from trading.worker.recorder import Recorder
from trading.worker.snapshots import (
    account_value_snapshot,
    fill_snapshot,
    portfolio_snapshot,
    position_snapshot,
    trade_snapshot,
)
from trading.worker.store import activity_write, batch_scope

log = logging.getLogger("trading.worker")

BACKGROUND_STOP_TIMEOUT = 5.0  # seconds the heartbeat and command tasks get to end at shutdown
LOST_LEASE_RECORDER_TIMEOUT = 1.0  # a fenced-out recorder cannot write: keep its queue on disk, quickly
EXIT_LEASE_HELD = 3  # another worker owns the client id
EXIT_LEASE_LOST = 4  # this worker's lease was taken over while it ran
STANDBY_POLL = 1.0  # seconds between a standby's looks at the lease: a takeover within ttl + this


@dataclass
class WorkerOptions:
    host: str
    port: int
    client_id: int
    mode: str
    handler_paths: list[str] | None = None
    account: str = ""
    connect_timeout: float = 10.0
    heartbeat_interval: float = 2.0
    backoff_first: float = 1.0
    backoff_cap: float = 30.0
    var_dir: Path = field(default_factory=lambda: Path("var"))
    name: str = ""  # the heartbeat row's name; default: worker_name(connection), "ibworker" for the default
    lease_ttl: float | None = None  # default: lease_ttl(heartbeat_interval)
    metrics_port: int | None = None  # serve /metrics on this port (0: any free one); None: not served
    metrics_host: str = "127.0.0.1"
    standby: bool = False  # wait for a live owner's lease instead of refusing (exit 3)
    standby_poll: float = STANDBY_POLL
    connection: str = DEFAULT_CONNECTION  # the IB connection's name: keys the lease and the command channel

    def __post_init__(self) -> None:
        self.name = self.name or worker_name(self.connection)


class IBWorker:
    def __init__(self, options: WorkerOptions, *, ib: IB | None = None):
        self.options = options
        self.ib = ib or IB()
        self.mode = options.mode
        self.connection = options.connection  # the IB connection's name: every row it records carries it
        self.state = State.STARTING
        self.synced = False  # reconciled and swept: runs may be claimed
        # IB's events are recorded from the reconcile's snapshot on (not from `synced`: events between the
        # snapshot and the end of the orphan sweep are in neither, and a standby under load lost them).
        self.recording = False
        self.stopping = asyncio.Event()
        self.disconnected = asyncio.Event()
        self._client_id_refused = asyncio.Event()  # a 326 while connecting (see _connect_ib)
        self.backoff = Backoff(first=options.backoff_first, cap=options.backoff_cap)
        self.ledger = PositionLedger(options.client_id)
        self.lease = LeaseHold(
            options.client_id,
            ttl=options.lease_ttl or lease_ttl(options.heartbeat_interval),
            owner=owner_name(),
            connection=options.connection,
        )
        self.refusal: str | None = None  # why this worker did not start (the lease is someone else's)
        self.reconciled_at = None  # when the last reconcile after a (re)connect was recorded
        self.accounts: list[str] = []  # the accounts the gateway manages, as of the last connect
        self.synced_at = None  # when the worker last became synced (reconciled, swept, accepting runs)
        self.broadcaster = Broadcaster()
        self.recorder = Recorder(
            publish=self.broadcaster.publish,
            dead_letter_path=options.var_dir / "recorder-dead-letters.jsonl",
            batch_scope=partial(batch_scope, lease=self.lease),
        )
        self.lag = LoopLagMonitor()
        self.metrics = WorkerMetrics(self)
        self.events = EventRouter(self)
        self.pnl = PnlStreams(self)
        self.handlers = HandlerManager(
            self.ib,
            options.handler_paths,
            reporter=CallbackReporter(
                on_load_error=self._handler_load_error, on_error=self._handler_error, on_slow=self._handler_slow
            ),
        )
        self.started_at = timezone.now()
        self.last_error_code: int | None = None
        self._last_failure: str | None = None
        self.farms: dict[str, int] = {}
        self.connects = 0
        self.extensions: list = []  # objects with async on_connected(worker) / on_stop(worker), e.g. intent runs
        self._background: list[asyncio.Task] = []
        self._command_layer = None
        self._heartbeat_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heartbeat")
        # Intent bodies' and the executor's database work: one thread, one connection, closed at stop.
        self._db_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker-db")

    # ----- lifecycle -------------------------------------------------------------------------

    async def run(self) -> int:
        """Run until asked to stop; returns the process exit code (0 on a clean stop)."""
        if not await self._acquire_lease():
            # a standby stopped while it waited: a clean exit; any other worker was refused
            return 0 if self.options.standby and self.stopping.is_set() else EXIT_LEASE_HELD
        self._install_signal_handlers()
        self._bind_ib_events()
        self.metrics.start(host=self.options.metrics_host, port=self.options.metrics_port)
        self.recorder.start()
        self.broadcaster.start()
        self.lag.start()
        await self.handlers.reload_async()
        self._background.append(asyncio.create_task(self._heartbeat_loop(), name="heartbeat"))
        self._background.append(asyncio.create_task(self._command_loop(), name="commands"))
        o = self.options
        named = "" if o.connection == DEFAULT_CONNECTION else f"connection {o.connection}, "
        self._record_state(State.STARTING, f"IB worker started (pid {os.getpid()}, {named}client id {o.client_id})")
        try:
            while not self.stopping.is_set():
                if await self._connect_once():
                    await self._wait_for_drop_or_stop()
                if not self.stopping.is_set():
                    await self._pause(self.backoff.next_delay())
        finally:
            await self._shutdown()
        return EXIT_LEASE_LOST if self.lease.lost else 0

    async def _acquire_lease(self) -> bool:
        """Own the client id before anything else, or touch nothing (no heartbeat, activity, IB session)."""
        o, lease = self.options, self.lease
        loop = asyncio.get_running_loop()
        acquire = partial(
            _db_call, lease_acquire, client_id=o.client_id, owner=lease.owner, ttl=lease.ttl, connection=o.connection
        )
        token = await loop.run_in_executor(self._db_executor, acquire)
        if token is None and o.standby:
            token = await self._standby_wait(acquire)
        elif token is not None:
            log.info(
                "connection %s, client id %s: lease taken (token %s, ttl %.1fs)", o.connection, o.client_id, token, lease.ttl
            )
        if token is None:
            if not (o.standby and self.stopping.is_set()):  # said once, by whoever started it (ibworker prints it)
                held = partial(_db_call, lease_held_message, o.client_id, connection=o.connection)
                self.refusal = await loop.run_in_executor(self._db_executor, held)
            await loop.run_in_executor(self._db_executor, _close_db_connection)
            for executor in (self._heartbeat_executor, self._db_executor):
                executor.shutdown(wait=True)
            return False
        lease.token = token
        return True

    async def _standby_wait(self, acquire) -> int | None:
        """A standby: look at the lease every `standby_poll` seconds until it is free — its owner released
        it, died on this host (at once), or stopped renewing it for a ttl (another host, or paused) — and
        take it with the next token; None when asked to stop first. Until then it writes nothing: the
        heartbeat row, the activity log and the gateway's client id all belong to the owner."""
        o, loop = self.options, asyncio.get_running_loop()
        self._install_signal_handlers()  # SIGTERM while waiting: a clean exit 0
        held = await loop.run_in_executor(
            self._db_executor, partial(_db_call, lease_held_message, o.client_id, connection=o.connection)
        )
        held = held.removesuffix("; not starting a second one")
        log.info("standby: %s; waiting to take over (looking every %.1fs)", held, o.standby_poll)
        began, failure = time.monotonic(), None
        while not self.stopping.is_set():
            await self._pause(o.standby_poll)
            if self.stopping.is_set():
                break
            try:
                token = await loop.run_in_executor(self._db_executor, acquire)
            except Exception as exc:  # the database is unreachable: keep waiting, say so once per kind
                if type(exc).__name__ != failure:
                    log.warning("standby: cannot read the lease (%s: %s); still waiting", type(exc).__name__, exc)
                failure = type(exc).__name__
                continue
            if token is not None:
                log.info(
                    "standby: took over client id %s (lease token %s) after waiting %.1fs; connecting",
                    o.client_id, token, time.monotonic() - began,
                )  # fmt: skip
                return token
        return None

    async def db(self, fn, /, *args, **kwargs):
        """Run blocking (database) work off the loop, on the worker's database thread — only while this
        worker still owns its client id (LeaseLost otherwise: an intent of a fenced-out worker stops)."""
        call = partial(_db_call, fn, *args, _lease=self.lease, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._db_executor, call)

    async def db_guarded(self, fn, /, *args, **kwargs):
        """`db` without the separate lease check, for work whose every write is itself conditioned on this
        worker's live lease (run_claim, run_claim_finish: their UPDATE matches nothing once the lease is
        gone) and whose reads a fenced-out worker may still make: one query less on a run's path."""
        call = partial(_db_call, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._db_executor, call)

    def _lease_lost(self, message: str) -> None:
        if not self.stopping.is_set():
            log.error("%s; stopping without writing anything more", message)
        self.lease.lost = True
        self.synced = self.recording = False  # claim nothing more
        self.request_stop()

    def request_stop(self) -> None:
        self.stopping.set()
        self.disconnected.set()

    async def _connect_once(self) -> bool:
        o = self.options
        self._set_state(State.CONNECTING)
        self.last_error_code = None
        self.disconnected.clear()
        try:
            await self._connect_ib()
        except (OSError, ConnectionError, TimeoutError) as exc:
            reason = self._connect_failure_reason(exc)
            message = f"cannot connect to {o.host}:{o.port}: {reason}"
            if reason != self._last_failure:  # one entry per kind of failure, not one per retry
                self._record_state(State.DISCONNECTED, message, Severity.WARNING)
            else:
                self._set_state(State.DISCONNECTED)
                log.info("%s (retrying)", message)
            self._last_failure = reason
            return False
        self._last_failure = None
        self.connects += 1
        self.backoff.reset()
        await self._reconcile()
        self._subscribe()
        # Runs are accepted only once every extension is ready: the orphan sweep must come before the
        # first claim (a run claimed before the sweep was once marked interrupted while it ran).
        for extension in self.extensions:
            await extension.on_connected(self)
        self.synced = self.ib.isConnected() and not self.disconnected.is_set() and not self.lease.lost
        self.synced_at = timezone.now() if self.synced else self.synced_at
        self._record_state(
            State.CONNECTED,
            f"connected to {o.host}:{o.port} as client {o.client_id} (server version {self.ib.client.serverVersion()})",
        )
        return True

    async def _connect_ib(self) -> None:
        """ib_insync's connectAsync, ended at once by a 326: the gateway has closed the socket, but
        ib_insync would wait out the whole connect timeout for a start that never comes — and a
        standby taking over retries while the dead owner's session is still being let go."""
        o = self.options
        self._client_id_refused.clear()
        connect = asyncio.ensure_future(
            self.ib.connectAsync(o.host, o.port, clientId=o.client_id, timeout=o.connect_timeout, account=o.account)
        )
        refused = asyncio.ensure_future(self._client_id_refused.wait())
        try:
            await asyncio.wait({connect, refused}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            refused.cancel()
            if not connect.done():
                connect.cancel()
                await asyncio.gather(connect, return_exceptions=True)
        if connect.cancelled():
            raise ConnectionError(f"client id {o.client_id} in use (326)")
        connect.result()  # its error, if it failed

    def _connect_failure_reason(self, exc: BaseException) -> str:
        if self.last_error_code == codes.CLIENT_ID_IN_USE:
            return f"client id {self.options.client_id} is in use (326); retrying — a restarting gateway frees it"
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
            return f"no answer within {self.options.connect_timeout:.0f}s"
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    async def _wait_for_drop_or_stop(self) -> None:
        await self.disconnected.wait()
        self.synced = self.recording = False
        if not self.stopping.is_set():
            self._record_state(State.DISCONNECTED, "connection to the gateway lost; reconnecting", Severity.WARNING)

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def _shutdown(self) -> None:
        self.synced = self.recording = False
        for extension in self.extensions:
            await extension.on_stop(self)
        if self.ib.isConnected():
            self.ib.disconnect()
        self._record_state(State.STOPPED, "IB worker stopped")
        self.handlers.close()
        await self.handlers.drain(timeout=5)
        for task in self._background:
            task.cancel()
        # A cancellation swallowed inside a library call (redis-py can) must not hang the shutdown.
        _, stuck = await asyncio.wait(self._background, timeout=BACKGROUND_STOP_TIMEOUT) if self._background else ((), ())
        if stuck:
            log.warning("stopping without waiting for %s", ", ".join(sorted(t.get_name() for t in stuck)))
        if self._command_layer is not None:
            await asyncio.gather(self._command_layer.close_pools(), return_exceptions=True)
        await self.recorder.stop(**({"timeout": LOST_LEASE_RECORDER_TIMEOUT} if self.lease.lost else {}))
        await self._write_heartbeat()
        await self._release_lease()
        await self.broadcaster.stop()
        await self.lag.stop()
        await asyncio.to_thread(self.metrics.stop)  # waits out the server's poll: not on the loop
        loop = asyncio.get_running_loop()
        for executor in (self._heartbeat_executor, self._db_executor):
            await loop.run_in_executor(executor, _close_db_connection)
            executor.shutdown(wait=True)

    async def _release_lease(self) -> None:
        if self.lease.lost:
            return
        o = self.options
        release = partial(_db_call, lease_release, client_id=o.client_id, token=self.lease.token, connection=o.connection)
        try:
            await asyncio.get_running_loop().run_in_executor(self._db_executor, release)
        except Exception as exc:  # the database is down: the lease expires after its ttl instead
            log.warning("lease not released (it expires in %.0fs): %s: %s", self.lease.ttl, type(exc).__name__, exc)

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGTERM, self.request_stop)
            loop.add_signal_handler(signal.SIGINT, self.request_stop)
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload_handlers()))
        except (NotImplementedError, RuntimeError, ValueError):
            log.info("signal handlers not installed (not the main thread)")

    async def reload_handlers(self) -> dict:
        handler_set = await self.handlers.reload_async()
        message = f"handlers reloaded: {len(handler_set.handlers)} handler(s), {len(handler_set.errors)} load error(s)"
        self._activity(ActivityKind.WORKER, message, Severity.WARNING if handler_set.errors else Severity.INFO)
        return self.handlers.snapshot()

    async def _command_loop(self) -> None:
        """Commands sent to the worker's channel (trading.live.worker_command_send): reload handlers, runs.

        The worker receives on a channel layer of its own: a receive cut short at shutdown can leave
        channels_redis's per-channel lock held on this loop, which must not block another worker's loop
        in the same process (the tests run many)."""
        layer = self._command_layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        while not self.stopping.is_set():
            try:
                message = await layer.receive(worker_channel(self.options.connection))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down: commands wait; runs are also found by the sweep
                log.warning("worker channel unavailable (%s: %s)", type(exc).__name__, exc)
                await self._pause(2.0)
                continue
            await self.handle_command(message)

    async def handle_command(self, message: dict) -> None:
        if message.get("type") == "handlers.reload":
            await self.reload_handlers()
            return
        for extension in self.extensions:
            handler = getattr(extension, "on_command", None)
            if handler is not None:
                await handler(message)

    # ----- reconciliation and subscriptions ----------------------------------------------------

    async def _reconcile(self) -> None:
        """Snapshot IB's state (no await between snapshot and going live) and queue its recording."""
        self._set_state(State.SYNCING)
        await self.ib.reqAllOpenOrdersAsync()  # every client's open orders, TWS's included
        ib = self.ib
        self.accounts = list(ib.managedAccounts())
        self.recorder.submit(
            reconcile_apply,
            on_done=self._reconciled,
            mode=self.mode,
            connection=self.connection,
            ledger=self.ledger,
            trades=[trade_snapshot(t) for t in ib.trades()],
            fills=[fill_snapshot(f) for f in ib.fills()],
            positions=[position_snapshot(p) for p in ib.positions()],
            portfolio=[portfolio_snapshot(p) for p in ib.portfolio()],
            account_values=[account_value_snapshot(v) for v in ib.accountValues()],
            gateway=f"{self.options.host}:{self.options.port}",
            accounts=self.accounts,
        )
        self.recording = not self.lease.lost  # from here on, each event is queued after the snapshot

    def _reconciled(self, result) -> None:
        _, summary = result
        self.last_reconcile = summary
        self.reconciled_at = timezone.now()

    def _subscribe(self) -> None:
        """(Re)subscribe to P&L (reqPnL, reqPnLSingle per position); after 1101 IB has dropped them."""
        account = self.options.account or (self.ib.managedAccounts() or [""])[0]
        if account:
            self.pnl.subscribe(account)

    # ----- IB events → recorder ----------------------------------------------------------------

    def _bind_ib_events(self) -> None:
        self.events.bind(self.ib)
        self.pnl.bind(self.ib)
        self.metrics.bind(self.ib)
        self.ib.errorEvent += self._on_error
        self.ib.disconnectedEvent += self._on_disconnected

    def _on_error(self, req_id: int, code: int, message: str, contract) -> None:
        self.last_error_code = code
        if code in codes.INFO_CODES:
            return
        if code == codes.LOST:
            self._record_state(State.IB_LINK_DOWN, f"gateway lost its connection to IB (1100): {message}", Severity.WARNING)
        elif code in (codes.RESTORED, codes.RESTORED_DATA_LOST):
            if code == codes.RESTORED_DATA_LOST:
                self._subscribe()  # IB dropped our subscriptions: ask again
            self._record_state(State.CONNECTED, f"gateway connection to IB restored ({code}): {message}")
        elif code in codes.FARM_DOWN:
            self._activity(ActivityKind.CONNECTION, f"data farm problem ({code}): {message}", Severity.WARNING)
        elif code == codes.CLIENT_ID_IN_USE:
            self._client_id_refused.set()
            log.warning("client id %s in use (326): %s", self.options.client_id, message)
        else:
            what = f" for {contract.symbol}" if contract is not None and getattr(contract, "symbol", "") else ""
            self._activity(
                ActivityKind.IB_ERROR,
                f"IB error {code}{what} (request {req_id}): {message}",
                Severity.WARNING,
                {"code": code, "req_id": req_id},
            )

    def _on_disconnected(self) -> None:
        self.synced = self.recording = False
        self.disconnected.set()

    # ----- handler problems → activity ---------------------------------------------------------

    def _handler_load_error(self, error) -> None:
        self._activity(ActivityKind.HANDLER_ERROR, f"handler file failed to load: {error}", Severity.ERROR, error.to_dict())
        self.broadcaster.publish(live_event("handler.error", error.to_dict(), mode=self.mode))

    def _handler_error(self, record, exc, tb) -> None:
        payload = {**record.to_dict(), "error": f"{type(exc).__name__}: {exc}", "traceback": tb[-4000:]}
        self._activity(
            ActivityKind.HANDLER_ERROR,
            f"handler {record.name} ({record.source_file}:{record.line}) raised {type(exc).__name__}: {exc}",
            Severity.ERROR,
            payload,
        )
        self.broadcaster.publish(live_event("handler.error", payload, mode=self.mode))

    def _handler_slow(self, record, duration) -> None:
        self._activity(
            ActivityKind.HANDLER_ERROR,
            f"handler {record.name} ({record.source_file}:{record.line}) is slow: {duration * 1000:.0f} ms",
            Severity.WARNING,
            {**record.to_dict(), "duration_ms": round(duration * 1000, 1)},
        )

    # ----- state, activity, heartbeat ----------------------------------------------------------

    def _activity(self, kind: str, message: str, severity: str = Severity.INFO, payload: dict | None = None) -> None:
        self.recorder.submit(
            activity_write, mode=self.mode, connection=self.connection, account=self.options.account, kind=kind,
            message=message, severity=severity, payload=payload,
        )  # fmt: skip

    def _set_state(self, state: str) -> None:
        self.state = state
        self.broadcaster.publish(live_event("connection.state", self.connection_payload(), mode=self.mode))

    def _record_state(self, state: str, message: str, severity: str = Severity.INFO) -> None:
        self._set_state(state)
        self._activity(ActivityKind.CONNECTION, message, severity, {"state": state})

    def connection_payload(self) -> dict:
        return {
            "state": self.state,
            "connected": self.state in (State.CONNECTED, State.IB_LINK_DOWN) and self.ib.isConnected(),
            "gateway": f"{self.options.host}:{self.options.port}",
            "client_id": self.options.client_id,
            "server_version": self.ib.client.serverVersion() if self.ib.isConnected() else None,
        }

    async def _heartbeat_loop(self) -> None:
        while True:
            await self._write_heartbeat()
            await asyncio.sleep(self.options.heartbeat_interval)

    async def _write_heartbeat(self) -> None:
        conn = self.connection_payload()
        fields = {
            "mode": self.mode,
            "pid": os.getpid(),
            "connected": conn["connected"] and self.synced,
            "gateway": conn["gateway"],
            "server_version": conn["server_version"],
            "last_event_at": self.events.last_event_at,
            "loop_lag_ms": round(self.lag.take_max(), 1),
            "started_at": self.started_at,
            "runs_in_progress": [],
            "details": {
                "state": self.state,
                "connects": self.connects,
                "lease_token": self.lease.token,
                # the accounts its gateway manages: the submission path routes a run to the worker of its account
                "accounts": self.accounts,
                "reconciled_at": self.reconciled_at.isoformat() if self.reconciled_at else None,
                "synced_at": self.synced_at.isoformat() if self.synced_at else None,
                "recorder": vars(self.recorder.stats),
                "recorder_queue": self.recorder.queue.qsize(),
                "recorder_lag_s": round(self.recorder.lag_seconds(), 3),
                # what ib_insync holds: working orders and the last RETAIN_DONE_MINUTES (trading/worker/retention.py)
                "ib_session": {
                    "trades": len(self.ib.wrapper.trades),
                    "fills": len(self.ib.wrapper.fills),
                    "tickers": len(self.ib.wrapper.tickers),
                },  # fmt: skip
                "broadcast": {
                    "sent": self.broadcaster.sent,
                    "failed": self.broadcaster.failed,
                    "dropped": self.broadcaster.dropped,
                },
                "handlers": self.handlers.snapshot(),
            },
        }
        for extension in self.extensions:
            fields["runs_in_progress"] += getattr(extension, "runs_in_progress", lambda: [])()
        if self.lease.lost:  # found by the recorder or a database call: the heartbeat row is the new owner's now
            if not self.stopping.is_set():
                self._lease_lost(self.lease.lost_message or f"client id {self.options.client_id}: lease token {self.lease.token} is no longer current")
            return
        try:
            write = partial(
                heartbeat_write, name=self.options.name, fields=fields, handler_stats=self.handlers.stats(), lease=self.lease
            )
            await asyncio.get_running_loop().run_in_executor(self._heartbeat_executor, write)
        except LeaseLost as exc:
            self._lease_lost(str(exc))
            return
        except Exception as exc:  # the database may be down: the next beat tries again
            log.warning("heartbeat not written: %s: %s", type(exc).__name__, exc)
        self.broadcaster.publish(live_event("worker.heartbeat", {**conn, "loop_lag_ms": fields["loop_lag_ms"]}, mode=self.mode))


def _db_call(fn, /, *args, _lease: LeaseHold | None = None, **kwargs):
    connection_refresh()  # a connection the database dropped (restart, pg_terminate_backend) is replaced
    if _lease is not None:
        _lease.verify()
    return fn(*args, **kwargs)


def _close_db_connection() -> None:
    from django.db import connection

    connection.close()
