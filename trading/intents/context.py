"""What an intent's body gets: the live `ib`, the run, fresh config, the order gateway, a logger.

Strategies reach the market and their own past only through the context — `history`, `account_snapshot`,
`target_previous`, `qualify`, `config` — so the very same `targets()` runs on the backtest's simulated
context (trading/backtest/context.py), which answers these from stored bars and the run's memory.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from trading.activity import activity_record
from trading.config import EffectiveConfig, effective_config
from trading.models import DEFAULT_CONNECTION, ActivityKind, IntentRun

log = logging.getLogger("trading.intents")

PRICE_TIMEOUT = 5.0


class IntentError(Exception):
    """An expected failure with a message for the trader (the run fails with it, no traceback)."""


class IntentPartial(IntentError):
    """The intent did what it could and something is left (close_all with a foreign order it may not
    cancel): the run ends `partial`, its result is `result`, and the message says what is left."""

    def __init__(self, message: str, result: dict):
        super().__init__(message)
        self.result = result


@dataclass
class IntentContext:
    ib: Any
    run: IntentRun
    config: EffectiveConfig
    worker: Any = None
    orders: Any = None  # trading.intents.orders.OrderGateway, set by the executor
    notes: list[str] = field(default_factory=list)

    @property
    def dry_run(self) -> bool:
        return self.run.dry_run

    @property
    def mode(self) -> str:
        return self.config.mode

    @property
    def connection(self) -> str:
        """The IB connection whose worker runs the body: the order rows it writes carry it (IB's order
        ids are only unique on one gateway); with no worker, the run's."""
        return getattr(self.worker, "connection", None) or getattr(self.run, "connection", "") or DEFAULT_CONNECTION

    @property
    def account(self) -> str:
        """The run's account (the submission path chose it); a run of no account: the configured one, or
        the gateway's first, as before accounts were routed."""
        return getattr(self.run, "account", "") or self.config.account or (self.ib.managedAccounts() or [""])[0]

    async def db(self, fn, /, *args, **kwargs):
        """Run database work off the loop (on the worker's database thread when there is a worker)."""
        if self.worker is not None:
            return await self.worker.db(fn, *args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def db_read(self, fn, /, *args, **kwargs):
        """`db` for work that only reads: without the lease check `db` makes first (one query less).
        A worker fenced out meanwhile may still read; whatever the body then writes goes through `db`
        or through a write conditioned on the live lease (a `reads_only` run's outcome: run_claim_finish)."""
        if self.worker is not None:
            return await self.worker.db_guarded(fn, *args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def fresh_config(self) -> EffectiveConfig:
        self.config = await self.db(effective_config, self.config.mode, account=getattr(self.run, "account", "") or None)
        return self.config

    async def log(self, message: str, *, kind: str = ActivityKind.INTENT_RUN, strategy: str = "", payload=None) -> None:
        self.notes.append(message)
        await self.db(
            activity_record, kind=kind, message=f"run #{self.run.pk} {self.run.intent}: {message}", mode=self.mode,
            connection=self.connection, strategy=strategy, run=self.run, payload=payload or {},
        )  # fmt: skip

    async def flush_records(self) -> None:
        """Wait until the worker has written every IB event seen so far (orders, fills, positions)."""
        if self.worker is not None:
            await self.worker.recorder.flush()

    async def qualify(self, *contracts):
        qualified = await self.ib.qualifyContractsAsync(*contracts)
        missing = [c for c in contracts if not c.conId]
        if missing:
            raise IntentError(f"unknown contract(s): {', '.join(c.symbol or str(c) for c in missing)}")
        return qualified

    async def history(self, contract, *, duration: str, bar_size: str, end="", what_to_show: str = "TRADES") -> list:
        """Bars (regular hours) from IB, pacing violations waited out (strategy.ib_history)."""
        from trading.intents import strategy  # strategy.py imports this module; its pacing rules live there

        return await strategy.ib_history(self, contract, duration=duration, bar_size=bar_size, end=end, what_to_show=what_to_show)

    async def account_snapshot(self):
        """The account's values asked from IB now (trading/intents/account.py)."""
        from trading.intents.account import account_snapshot  # account.py imports this module

        return await account_snapshot(self)

    async def target_previous(self, strategy_id: str):
        """The strategy's newest successful target in this mode (a real run never sees dry runs'), or None."""
        from trading.intents.strategy import target_latest
        from trading.models import TargetStatus

        return await self.db(
            target_latest, strategy_id=strategy_id, mode=self.mode, include_dry_runs=self.dry_run,
            status=TargetStatus.SUCCESS,
        )  # fmt: skip

    async def quote(self, contract) -> Quote:
        """Bid, ask and last from a market data snapshot; each None when IB has none within the timeout."""
        try:
            tickers = await asyncio.wait_for(self.ib.reqTickersAsync(contract), PRICE_TIMEOUT)
        except TimeoutError:
            tickers = []
        if not tickers:
            return Quote(None, None, None)
        ticker = tickers[0]
        return Quote(_positive(ticker.bid), _positive(ticker.ask), _positive(ticker.last))

    async def price(self, contract) -> float:
        """The last traded price (or the bid/ask midpoint, or the close) from a market data snapshot."""
        try:
            tickers = await asyncio.wait_for(self.ib.reqTickersAsync(contract), PRICE_TIMEOUT)
        except TimeoutError:
            tickers = []
        value = _usable_price(tickers[0]) if tickers else None
        if value is None:
            raise IntentError(f"no market price for {contract.symbol} within {PRICE_TIMEOUT:.0f}s")
        return value


@dataclass(frozen=True)
class Quote:
    bid: float | None
    ask: float | None
    last: float | None

    @property
    def midpoint(self) -> float | None:
        return (self.bid + self.ask) / 2 if self.bid is not None and self.ask is not None else None


def _positive(value) -> float | None:
    return float(value) if value is not None and not math.isnan(value) and value > 0 else None


def _usable_price(ticker) -> float | None:
    for value in (ticker.last, ticker.midpoint(), ticker.close):
        if value is not None and not math.isnan(value) and value > 0:
            return float(value)
    return None
