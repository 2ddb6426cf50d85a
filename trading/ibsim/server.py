"""The paper gateway: an asyncio TCP server speaking the TWS API, plus the clocks that drive it.

One :class:`PaperGateway` owns the market, the paper account and the broker, accepts any number of
client connections (each a :class:`~trading.ibsim.session.ClientSession`), and runs:

- the price loop: a random-walk step every ``tick_interval`` seconds, then resting orders are
  re-checked and ticks and bar updates go to subscribers;
- the P&L clock (``pnl_interval``, 1 s like IB), the account-updates clock
  (``account_update_interval``; IB uses 3 minutes), the real-time-bar clock (5 s like IB) and the
  state saver (``--state FILE``).

It listens on 127.0.0.1 unless told otherwise. Control and fault-injection methods come from
:class:`~trading.ibsim.controls.GatewayControls`. Every method must run on the gateway's own event
loop; from another thread use :class:`~trading.ibsim.threaded.ThreadedGateway`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import time
import zlib
from dataclasses import replace

from trading.ibsim import reports, sessions, state
from trading.ibsim.accounts import Account
from trading.ibsim.broker import FIRST_PERM_ID, Broker, BrokerSettings
from trading.ibsim.config import GatewayConfig
from trading.ibsim.contracts import Universe
from trading.ibsim.control import start_control_server
from trading.ibsim.controls import GatewayControls
from trading.ibsim.faults import Faults
from trading.ibsim.history import NEW_YORK
from trading.ibsim.market import Market
from trading.ibsim.messages import account as account_msg
from trading.ibsim.messages import common
from trading.ibsim.routing import Router
from trading.ibsim.session import ClientSession
from trading.ibsim.subscriptions import QuoteTails

log = logging.getLogger("trading.ibsim")

MAX_CATCH_UP_STEPS = 20
FARM_BROKEN_NOTICES = (
    (2103, "Market data farm connection is broken:usfarm"),
    (2105, "HMDS data farm connection is broken:ushmds"),
)


def next_boundary(now: float, seconds: float) -> float:
    """The first multiple of ``seconds`` (since the epoch) after ``now``."""
    return (math.floor(now / seconds + 1e-9) + 1) * seconds


def _id_ranges(seed: int, account_id: str) -> dict:
    """Where this gateway's execIds and permIds start. IB's are unique across accounts, and the console
    stores them so (one Fill per execId; an order row per permId of its connection); several paper gateways — one per
    account, as `up` runs for several connections — must not make the same ones. The default account
    keeps the historical ranges; another account gets a prefix and a block of a million permIds of its own."""
    if account_id == GatewayConfig.account_id:
        return {"exec_prefix": f"{0xE0D5 + seed % 0xFFFF:08x}"}
    salt = zlib.crc32(account_id.encode())
    return {"exec_prefix": f"{salt ^ seed:08x}", "first_perm_id": FIRST_PERM_ID + (1 + salt % 1000) * 1_000_000}


class PaperGateway(GatewayControls):
    """A simulated IB Gateway for one paper account.

    Usage inside an event loop::

        async with PaperGateway(port=0, seed=7) as gateway:
            ib = IB()
            await ib.connectAsync("127.0.0.1", gateway.port, clientId=1)
    """

    def __init__(self, config: GatewayConfig | None = None, **overrides) -> None:
        self.config = replace(config or GatewayConfig(), **overrides)
        self.seed = self.config.seed
        self.universe = Universe()
        self.market = Market(self.universe, self.seed, self.config.seconds_per_step)
        self.account = Account(self.config.account_id, self.universe, self.market)
        self.faults = Faults()
        settings = BrokerSettings(
            partial_fills=self.config.partial_fills,
            fill_delay=self.config.fill_delay,
            slice_interval=self.config.slice_interval,
            **_id_ranges(self.seed, self.config.account_id),
        )
        self.broker = Broker(self.universe, self.market, self.account, self._call_later, settings)
        self.router = Router(self)
        self.broker.notifier = self.router
        self.sessions: set[ClientSession] = set()
        self.clients: dict[int, ClientSession] = {}
        self.is_up = False
        self.connectivity_ok = True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._control: asyncio.AbstractServer | None = None
        self._tasks: list[asyncio.Task] = []
        self._restart_task: asyncio.Task | None = None
        self._port = self.config.port
        self.calendar = sessions.load(self.config.calendar) if self.config.calendar else None
        self.clock_offset = 0.0  # seconds the gateway's clock is ahead of the wall clock (see set_clock)
        self._trading_day = dt.datetime.now(NEW_YORK).date()
        self._load_state()

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The API port actually listened on (useful with ``port=0``)."""
        return self._port

    @property
    def control_port(self) -> int | None:
        if self._control is None:
            return None
        return self._control.sockets[0].getsockname()[1]

    def now(self) -> dt.datetime:
        """The gateway's clock: the wall clock, moved by ``set_clock`` (only with a calendar)."""
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.clock_offset)

    async def start(self) -> PaperGateway:
        self._loop = asyncio.get_running_loop()
        if self.calendar is not None:
            sessions.install(self.calendar)
            self.follow_calendar()
        await self._listen()
        config = self.config
        clocks = {  # name: (seconds between runs, read each time so controls can change it; action)
            "pnl": (lambda: config.pnl_interval, self._push_pnl),
            "account": (lambda: config.account_update_interval, self._push_account),
            "save": (lambda: config.save_interval, self._save_if_dirty),
            "day": (lambda: 1.0, self._roll_day),
            "calendar": (lambda: 1.0, self.follow_calendar),
        }
        self._tasks = [
            asyncio.create_task(self._price_loop(), name="ibsim-prices"),
            asyncio.create_task(self._realtime_bar_clock(), name="ibsim-rtbars"),
        ]
        self._tasks += [
            asyncio.create_task(self._every(interval, action), name=f"ibsim-{name}")
            for name, (interval, action) in clocks.items()
        ]
        if config.control_port is not None:
            self._control = await start_control_server(self, config.host, config.control_port)
        log.info(
            "paper gateway on %s:%s, account %s, seed %s",
            config.host,
            self.port,
            self.account.account_id,
            self.seed,
        )
        return self

    async def stop(self) -> None:
        """Stop serving: clocks stopped, sockets closed, state saved."""
        tasks = [*self._tasks, self._restart_task] if self._restart_task else list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks, self._restart_task = [], None
        if self._control is not None:
            self._control.close()
            self._control = None
        await self._close_listener()
        self.drop_connections()
        self.save_state()
        if self.calendar is not None and sessions.active() is self.calendar:
            sessions.install(None)

    async def __aenter__(self) -> PaperGateway:
        return await self.start()

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: ClientSession(self), self.config.host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]
        self.is_up = True

    async def _close_listener(self) -> None:
        self.is_up = False
        if self._server is not None:
            self._server.close()
            self._server = None

    def _call_later(self, delay: float, callback, *args):
        loop = self._loop or asyncio.get_running_loop()
        if delay > 0:
            return loop.call_later(delay, callback, *args)
        return loop.call_soon(callback, *args)

    # --- sessions ---------------------------------------------------------------------------

    def session_opened(self, session: ClientSession) -> None:
        self.sessions.add(session)

    def claim_client_id(self, session: ClientSession, client_id: int) -> bool:
        """Register a client id for a session; False when another live connection holds it (326)."""
        holder = self.clients.get(client_id)
        if holder is not None and holder is not session and holder.is_open:
            return False
        self.clients[client_id] = session
        return True

    def session_closed(self, session: ClientSession) -> None:
        self.sessions.discard(session)
        if session.client_id is not None and self.clients.get(session.client_id) is session:
            del self.clients[session.client_id]

    def farm_notices(self) -> tuple[tuple[int, str], ...]:
        if self.faults.farms_broken:
            return FARM_BROKEN_NOTICES + common.FARM_NOTICES[2:]
        return common.FARM_NOTICES

    def broadcast_error(self, code: int, message: str) -> None:
        for session in list(self.clients.values()):
            if session.is_ready:
                session.error(common.NO_REQ_ID, code, message)

    # --- prices -----------------------------------------------------------------------------

    async def _price_loop(self) -> None:
        """Step prices every ``tick_interval``. The event loop wakes at most about once a
        millisecond, so shorter intervals are honoured by catching up several steps per wake."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            interval = self.config.tick_interval
            await asyncio.sleep(interval if interval > 0 else 0.05)
            interval = self.config.tick_interval  # re-read: prices may have been frozen meanwhile
            now = loop.time()
            if interval <= 0:
                last = now
                continue
            steps = min(int((now - last) / interval), MAX_CATCH_UP_STEPS) or 1
            last = max(last + steps * interval, now - interval)
            for _ in range(steps):
                self.publish_prices(self.market.step())

    def publish_prices(self, con_ids) -> None:
        """After prices moved: work resting orders, then stream ticks and bar updates."""
        self.broker.on_market(con_ids)
        if not self.connectivity_ok:
            return
        changed = set(con_ids)
        quotes = self.market.quotes
        tails: dict[int, QuoteTails] = {}
        now = None
        for session in list(self.clients.values()):
            if session.market_data and not session.paused:
                out: list[bytes] = []
                for sub in session.market_data.values():
                    con_id = sub.inst.con_id
                    if con_id in changed:
                        tail = tails.get(con_id)
                        if tail is None:
                            tail = tails[con_id] = QuoteTails(quotes[con_id])
                        sub.changes(quotes[con_id], tail, out)
                session.send_many(out)
            for sub in session.live_bars.values():
                if sub.inst.con_id in changed:
                    now = now or self.now()
                    data = sub.update(quotes[sub.inst.con_id], now)
                    if data is not None:
                        session.send_raw(data)
            for sub in session.realtime_bars.values():
                if sub.inst.con_id in changed:
                    sub.update(quotes[sub.inst.con_id])
            if session.paused:
                continue
            for sub in session.depth.values():
                if sub.inst.con_id in changed:
                    session.send_many(sub.messages(quotes[sub.inst.con_id]))
            for sub in session.tick_by_tick.values():
                if sub.inst.con_id in changed:
                    data = sub.message(quotes[sub.inst.con_id])
                    if data is not None:
                        session.send_raw(data)

    # --- clocks -----------------------------------------------------------------------------

    async def _every(self, interval, action) -> None:
        while True:
            await asyncio.sleep(max(interval(), 0.01))
            try:
                action()
            except Exception:
                log.exception("periodic task %s failed", getattr(action, "__name__", action))

    def _ready_clients(self) -> list[ClientSession]:
        return [s for s in self.clients.values() if s.is_ready]

    def _push_pnl(self) -> None:
        for session in self._ready_clients():
            if session.pnl_requests:
                values = self.account.pnl()
                session.send_many([account_msg.pnl(req_id, *values) for req_id in session.pnl_requests])
            for req_id, con_id in session.pnl_single.items():
                session.send_raw(account_msg.pnl_single(req_id, self.account.pnl_single(con_id)))

    def _push_account(self) -> None:
        for session in self._ready_clients():
            if session.wants_account_updates:
                session.send_many(reports.account_refresh(self.account, self.universe))
            for req_id, tags in session.account_summaries.items():
                session.send_many(reports.account_summary(self.account, req_id, tags))

    def _roll_day(self) -> None:
        """At New York midnight: prior closes, daily P&L and today's realized P&L start over."""
        today = dt.datetime.now(NEW_YORK).date()
        if today != self._trading_day:
            self._trading_day = today
            self.market.start_new_day()
            self.account.start_new_day()

    async def _realtime_bar_clock(self) -> None:
        """Real-time bars close on the wall clock's 5-second boundaries (:00, :05, ...), as IB's do."""
        last = 0.0
        while True:
            seconds = self.config.realtime_bar_seconds
            boundary = max(next_boundary(time.time(), seconds), last + seconds)
            await asyncio.sleep(max(boundary - time.time(), 0.0))
            last = boundary
            try:
                self._emit_realtime_bars(int(round(boundary - seconds)))
            except Exception:
                log.exception("real-time bars failed")

    def _emit_realtime_bars(self, window_start: int) -> None:
        """Each subscription's bar for the window that started at ``window_start`` (epoch seconds)."""
        for session in self._ready_clients():
            for sub in session.realtime_bars.values():
                session.send_raw(sub.emit(window_start))

    # --- state ------------------------------------------------------------------------------

    def _load_state(self) -> None:
        if not self.config.state_file:
            return
        data = state.load(self.config.state_file)
        if data is not None:
            state.restore(data, self.account, self.broker, self.market)
            log.info("restored state from %s", self.config.state_file)

    def save_state(self) -> bool:
        """Write the state file now (when one is configured); True if written."""
        if not self.config.state_file:
            return False
        state.save(self.config.state_file, state.snapshot(self.account, self.broker, self.market))
        self.broker.dirty = False
        return True

    def _save_if_dirty(self) -> None:
        if self.broker.dirty:
            self.save_state()
