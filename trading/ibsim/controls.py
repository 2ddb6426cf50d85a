"""Controls and fault injection on a running paper gateway (mixed into PaperGateway).

Tests call these in-process; ``python -m trading.ibsim --control-port N`` exposes them as text
commands (see :mod:`trading.ibsim.control`). Symbols are given as ``SPY`` or ``EUR.USD``.
All methods run on the gateway's event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import asdict

from trading.ibsim import sessions
from trading.ibsim.contracts import Instrument

log = logging.getLogger("trading.ibsim")

DEFAULT_REJECT = "Order rejected - reason:Simulated rejection by the paper gateway"
MSG_CONNECTIVITY_LOST = "Connectivity between IB and Trader Workstation has been lost."
MSG_RESTORED_KEPT = "Connectivity between IB and Trader Workstation has been restored - data maintained."
MSG_RESTORED_LOST = "Connectivity between IB and Trader Workstation has been restored - data lost."


class GatewayControls:
    """Price controls, fault injection and introspection."""

    # --- prices -----------------------------------------------------------------------------

    def instrument(self, symbol: str) -> Instrument:
        return self.universe.by_symbol(symbol)

    def quote(self, symbol: str) -> dict:
        """The current quote of ``symbol`` as a plain dict."""
        return asdict(self.market.quote(self.instrument(symbol).con_id))

    def set_price(self, symbol: str, price: float) -> dict:
        """Put ``symbol`` at ``price`` now; resting orders are checked against it immediately."""
        inst = self.instrument(symbol)
        self.market.set_price(inst.con_id, float(price))
        self.publish_prices(self.market.with_derived([inst.con_id]))
        return self.quote(symbol)

    def move_price(self, symbol: str, delta: float = 0.0, percent: float = 0.0) -> dict:
        """Move ``symbol`` by ``delta`` and/or ``percent`` now."""
        inst = self.instrument(symbol)
        self.market.move_price(inst.con_id, float(delta), float(percent))
        self.publish_prices(self.market.with_derived([inst.con_id]))
        return self.quote(symbol)

    def step_market(self, steps: int = 1) -> None:
        """Advance the random walk by hand (handy with ``tick_interval=0``)."""
        for _ in range(int(steps)):
            self.publish_prices(self.market.step())

    def set_tick_interval(self, seconds: float) -> None:
        """Seconds between random-walk steps; 0 freezes prices."""
        self.config.tick_interval = float(seconds)

    # --- the trading session ---------------------------------------------------------------

    def market_close(self) -> dict:
        """Move the simulated clock to the close: MOC fill and LOC fill or cancel at the closing
        price (each stock's mark now), DAY orders expire, other stock orders are held until the open
        unless ``outsideRth``. ValueError if already closed. Returns what the auction did."""
        return self.broker.close_session()

    def market_open(self) -> dict:
        """Move the simulated clock to the open: OPG orders execute at the opening price (LMT only
        if it meets the limit, otherwise cancelled), then held orders work. ValueError if open."""
        return self.broker.open_session()

    def follow_calendar(self) -> dict | None:
        """With a calendar: open or close the simulated session as the calendar says it is now (the
        auctions run as with ``market_open``/``market_close``). Returns what the auction did, if any."""
        if self.calendar is None:
            return None
        should_be_open = self.calendar.is_open(self.now())
        if should_be_open and not self.broker.session_open:
            return self.broker.open_session()
        if not should_be_open and self.broker.session_open:
            return self.broker.close_session()
        return None

    def set_clock(self, moment: str, day: str | None = None) -> dict:
        """Move the gateway's clock (not the wall clock) to a session's ``open`` or ``close`` - the
        next one, or the one of ``day`` (yyyymmdd) - or back to ``now``; the session follows at
        once. Only with a calendar (``--calendar XNYS``); ValueError otherwise or for a bad moment."""
        if self.calendar is None:
            raise ValueError("the gateway runs without a calendar: start it with --calendar XNYS")
        if moment == "now":
            self.clock_offset = 0.0
        elif moment in ("open", "close"):
            now = self.now()
            start = dt.datetime.strptime(day, "%Y%m%d").date() if day else now.astimezone(sessions.NEW_YORK).date()
            session_day = self.calendar.session_on_or_after(start)
            bounds = self.calendar.regular(session_day)
            if not day and bounds[moment == "close"] < now:  # today's has passed: the next session
                session_day = self.calendar.session_on_or_after(session_day + dt.timedelta(days=1))
                bounds = self.calendar.regular(session_day)
            target = bounds[moment == "close"]
            self.clock_offset = (target - dt.datetime.now(dt.UTC)).total_seconds()
        else:
            raise ValueError(f"expected open, close or now, got {moment!r}")
        auction = self.follow_calendar()
        return {"now": self.now().isoformat(timespec="seconds"), "session": self._session_name(),
                "auction": auction}  # fmt: skip

    def _session_name(self) -> str:
        return "open" if self.broker.session_open else "closed"

    # --- fills and rejects ------------------------------------------------------------------

    def set_partial_fills(self, slices: int) -> None:
        """Fill every new order in ``slices`` parts (1 = whole fills)."""
        self.broker.settings.partial_fills = max(int(slices), 1)

    def reject_next_order(self, count: int = 1, code: int = 201, message: str = DEFAULT_REJECT,
                          inactive: bool = False) -> None:  # fmt: skip
        """Refuse the next ``count`` new orders with IB error ``code``; ``inactive`` also reports
        the order as Inactive (IB does that for some rejections, e.g. margin)."""
        for _ in range(int(count)):
            self.broker.rejects.append((int(code), message, bool(inactive)))

    def external_trade(self, symbol: str, quantity: float, price: float | None = None,
                       with_execution: bool = True) -> dict:  # fmt: skip
        """A position change made outside the API, as if a human traded in TWS.

        With an execution it is a filled manual order (client id 0, order id 0, empty orderRef)
        that clients see in executions and completed orders; without one the position simply
        changes (and position/portfolio updates go out). Returns the new position.
        """
        inst = self.instrument(symbol)
        order = self.broker.external_trade(inst, float(quantity), price, with_execution)
        pos = self.account.positions.get(inst.con_id)
        return {
            "symbol": symbol,
            "position": pos.quantity if pos else 0.0,
            "perm_id": order.perm_id if order else None,
        }

    # --- connection faults ------------------------------------------------------------------

    def drop_connections(self) -> int:
        """Cut every client socket at once (as a crash would); returns how many were open."""
        sessions = list(self.sessions)
        for session in sessions:
            session.abort()
        return len(sessions)

    async def restart(self, downtime: float = 5.0) -> None:
        """A nightly-restart: drop everyone, refuse connections for ``downtime`` seconds, come back
        with the same positions, orders and executions. Returns as soon as the gateway is down.

        Resting orders keep working while it is down; fills made meanwhile are found after
        reconnecting through reqExecutions and reqCompletedOrders, as at IB.
        """
        await self._close_listener()
        self.drop_connections()
        self.save_state()
        log.info("paper gateway down for %.1f s", downtime)
        self._restart_task = asyncio.create_task(self._come_back(float(downtime)))

    async def _come_back(self, downtime: float) -> None:
        await asyncio.sleep(downtime)
        await self._listen()
        log.info("paper gateway back up on port %s", self.port)

    async def wait_until_up(self, timeout: float = 30.0) -> None:
        """Wait until the gateway accepts connections again."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.is_up:
            if loop.time() > deadline:
                raise TimeoutError("paper gateway did not come back up")
            await asyncio.sleep(0.01)

    def set_reply_delay(self, seconds: float) -> None:
        """Delay the handling of every request by ``seconds`` (0 turns it off)."""
        self.faults.reply_delay = max(float(seconds), 0.0)

    def inject_pacing_violation(self, count: int = 1) -> None:
        """Fail the next ``count`` historical-data requests with error 162 (pacing violation)."""
        self.faults.pacing_violations += int(count)

    def set_message_rate_limit(self, limit: int | None = 50) -> None:
        """Enforce IB's messages-per-second cut-off (error 100 + disconnect); None turns it off."""
        self.faults.max_message_rate = int(limit) if limit else None

    async def connectivity_lost(self, duration: float = 5.0, data_lost: bool = False) -> None:
        """IB's servers unreachable for ``duration`` seconds: 1100 and farm-broken notices, no ticks,
        then 1102 (data maintained) or 1101 (data lost: market data subscriptions are dropped)."""
        self.connectivity_ok = False
        self.faults.farms_broken = True
        self.broadcast_error(1100, MSG_CONNECTIVITY_LOST)
        for code, message in self.farm_notices()[:2]:
            self.broadcast_error(code, message)
        await asyncio.sleep(float(duration))
        self.connectivity_ok = True
        self.faults.farms_broken = False
        if data_lost:
            for session in list(self.clients.values()):
                session.market_data.clear()
        self.broadcast_error(
            1101 if data_lost else 1102, MSG_RESTORED_LOST if data_lost else MSG_RESTORED_KEPT
        )
        for code, message in self.farm_notices()[:2]:
            self.broadcast_error(code, message)

    # --- introspection ----------------------------------------------------------------------

    def positions(self) -> dict[str, float]:
        """Open positions by local symbol (``SPY``, ``EUR.USD``)."""
        return {
            self.universe.by_con_id[p.con_id].local_symbol: p.quantity for p in self.account.open_positions()
        }

    def cash(self) -> dict[str, float]:
        return dict(self.account.cash)

    def open_orders(self) -> list[dict]:
        return [asdict(o) for o in self.broker.open_orders()]

    def orders(self) -> list[dict]:
        return [asdict(o) for o in self.broker.orders.values()]

    def executions(self) -> list[dict]:
        return [asdict(e) for e in self.broker.executions]

    def connected_clients(self) -> list[int]:
        return sorted(cid for cid, s in self.clients.items() if s.is_ready)

    def status(self) -> dict:
        return {
            "up": self.is_up,
            "port": self.port,
            "session": self._session_name(),
            "calendar": self.calendar.code if self.calendar else None,
            "clock": self.now().isoformat(timespec="seconds"),
            "account": self.account.account_id,
            "clients": self.connected_clients(),
            "open_orders": len(self.broker.open_orders()),
            "executions": len(self.broker.executions),
            "positions": self.positions(),
            "net_liquidation": round(self.account.net_liquidation(), 2),
        }
