"""One backtest, start to end: the strategy's own `targets()` stepped over a simulated clock.

    settings resolved (a snapshot of exposure and weight, taken once) ─▶ clock steps (clock.py)
    each step t:  broker fills next-open orders whose bar has opened by t
                  targets(ctx at t) ─▶ allocation_plan (the allocator's real sizing) ─▶ broker orders
                  equity marked at the last visible closes (the day's last step is the day's equity)
    end:          round trips (trading/performance/roundtrips.py) ─▶ metrics (metrics.py) ─▶ result

Invariants: the strategy sees only bars that ended by t (context.py); nothing is written to the
database and no order leaves the process; the same inputs and stored bars give the same result, to
the byte once printed (`result_json`). A step whose `targets()` raises keeps what is held (as the
allocator does with a failed target) and is counted; missing bars stop the run with `BarsMissing`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from trading.backtest.bars import NEW_YORK
from trading.backtest.broker import BAD_FILL, FILL_RULES, SimulatedBroker, commission_model
from trading.backtest.broker import Order as SimulatedOrder
from trading.backtest.clock import clock_steps, every_default
from trading.backtest.context import BarsMissing, BarsNotLoaded, ConfigSnapshot, SimulatedContext
from trading.backtest.results import results_build
from trading.intents.allocation_plan import FRESH, StrategyInput, allocation_plan
from trading.intents.registry import IntentNotFound, intent_get, intent_list
from trading.intents.strategy import StrategyIntent

UNKNOWN_STRATEGY = "unknown strategy {name!r}: not a strategy intent (strategies: {known})"
END_BEFORE_START = "the end {end} is before the start {start}"
BAD_CASH = "the starting cash must be positive, not {cash}"
BAD_EXPOSURE = "the exposure is between 0 and 1, not {value}"


class BacktestError(ValueError):
    """Bad input for a backtest, with a message for the trader."""


@dataclass(frozen=True)
class BacktestSettings:
    cash: float = 100_000.0
    exposure: float | None = None  # overall exposure; None: the active mode's, read once at the start
    strategy_exposure: float | None = None  # the strategy's weight; None: its row's, read once
    commission: str = "ib-fixed"
    slippage_bps: float = 0.0
    fill: str = "next-open"
    every: str | None = None  # None: the strategy's enabled schedule's time, else the close
    strategy_id: str | None = None  # None: the intent's default strategy_id


def strategy_intent(name_or_class) -> type[StrategyIntent]:
    if isinstance(name_or_class, type) and issubclass(name_or_class, StrategyIntent):
        return name_or_class
    try:
        intent = intent_get(str(name_or_class))
    except IntentNotFound:
        intent = None
    if intent is None or not issubclass(intent, StrategyIntent):
        known = ", ".join(i.name for i in intent_list() if issubclass(i, StrategyIntent))
        raise BacktestError(UNKNOWN_STRATEGY.format(name=name_or_class, known=known))
    return intent


def settings_resolve(intent: type[StrategyIntent], settings: BacktestSettings) -> dict:
    """The settings snapshot a run uses and reports: every default filled in, from the database, once."""
    from trading.config import effective_config
    from trading.models import Strategy

    params = intent.Params(**({"strategy_id": settings.strategy_id} if settings.strategy_id else {}))
    row = Strategy.objects.filter(strategy_id=params.strategy_id).first()
    overall = settings.exposure if settings.exposure is not None else float(effective_config().overall_exposure)
    weight = settings.strategy_exposure if settings.strategy_exposure is not None else float(row.exposure if row else 1)
    for value in (overall, weight):
        if not 0 <= value <= 1:
            raise BacktestError(BAD_EXPOSURE.format(value=value))
    if settings.cash <= 0:
        raise BacktestError(BAD_CASH.format(cash=settings.cash))
    every = settings.every or every_default(intent.name)
    try:
        commission_model(settings.commission)
        clock_steps(every, dt.date(2000, 1, 3), dt.date(2000, 1, 3))
    except ValueError as exc:
        raise BacktestError(str(exc)) from None
    if settings.fill not in FILL_RULES:
        raise BacktestError(BAD_FILL.format(rules=", ".join(FILL_RULES), value=settings.fill))
    return {
        "strategy_id": params.strategy_id,
        "cash": float(settings.cash),
        "overall_exposure": float(overall),
        "strategy_exposure": float(weight),
        "commission": settings.commission,
        "slippage_bps": float(settings.slippage_bps),
        "fill": settings.fill,
        "every": every,
    }


def backtest_run(
    *,
    strategy,
    start: dt.date,
    end: dt.date,
    settings: BacktestSettings | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Run a backtest and return its result (the `--json` shape). Raises BacktestError or BarsMissing."""
    intent = strategy_intent(strategy)
    if end < start:
        raise BacktestError(END_BEFORE_START.format(start=start, end=end))
    resolved = settings_resolve(intent, settings or BacktestSettings())
    try:
        steps = clock_steps(resolved["every"], start, end)
        broker = SimulatedBroker(
            cash=resolved["cash"], fill=resolved["fill"], commission=commission_model(resolved["commission"]),
            slippage_bps=resolved["slippage_bps"],
        )  # fmt: skip
    except ValueError as exc:
        raise BacktestError(str(exc)) from None
    run_end = dt.datetime.combine(end, dt.time(23, 59, 59), NEW_YORK).astimezone(dt.UTC)
    ctx = SimulatedContext(config=ConfigSnapshot(overall_exposure=resolved["overall_exposure"]), broker=broker, run_end=run_end)
    stepper = _Stepper(intent=intent(), ctx=ctx, resolved=resolved)
    loop = asyncio.new_event_loop()
    loop.set_default_executor(InlineExecutor())
    try:
        for done, now in enumerate(steps, start=1):
            stepper.step(loop, now)
            if progress:
                progress(done, len(steps))
    finally:
        loop.close()
    return results_build(
        strategy=intent.name, start=start, end=end, settings=resolved, broker=broker, equity=stepper.equity,
        exposure=stepper.exposure, failures=stepper.failures, steps=stepper.steps,
    )  # fmt: skip


class _Stepper:
    def __init__(self, *, intent: StrategyIntent, ctx: SimulatedContext, resolved: dict):
        from trading.models import Strategy

        self.intent, self.ctx = intent, ctx
        self.params = intent.Params(strategy_id=resolved["strategy_id"])
        self.strategy = Strategy(strategy_id=resolved["strategy_id"], enabled=True, exposure=resolved["strategy_exposure"])
        self.equity: dict[str, float] = {}  # NY day -> equity at the day's last step
        self.exposure: dict[str, float] = {}
        self.failures: list[str] = []
        self.steps = 0
        self.sessions: set | None = None

    def step(self, loop, now: dt.datetime) -> None:
        ctx = self.ctx
        ctx.now = now
        if not self._is_session(now):
            return
        self.steps += 1
        _loading(lambda: ctx.broker.fill_due(now, ctx), ctx)
        try:
            rows, metadata = _loading(lambda: loop.run_until_complete(self.intent.targets(ctx, self.params, self.strategy)), ctx)
        except BarsMissing:
            raise  # the run stops: the store lacks what the strategy asked for
        except Exception as exc:
            self.failures.append(f"{now.astimezone(NEW_YORK):%Y-%m-%d %H:%M}: {type(exc).__name__}: {exc}")
        else:
            ctx.target_keep(rows, metadata)
            _loading(lambda: self._allocate(now, rows), ctx)
        if ctx.price_keys:
            value, gross = _loading(lambda: ctx.broker.equity(now, ctx), ctx)
            day = now.astimezone(NEW_YORK).date().isoformat()
            self.equity[day] = value
            self.exposure[day] = gross / value if value > 0 else 0.0

    def _allocate(self, now: dt.datetime, rows: list[dict]) -> None:
        broker = self.ctx.broker
        holdings = {con_id: q for con_id, q in broker.positions.items() if q}
        contracts = {
            con_id: {"symbol": symbol, "sec_type": "STK", "currency": "USD"} for con_id, symbol in broker.symbols.items()
        }
        for row in rows:
            contracts[int(row["con_id"])] = {k: row.get(k) for k in ("symbol", "sec_type", "currency")}
        item = StrategyInput(self.strategy.strategy_id, FRESH, rows=[dict(r) for r in rows], holdings=holdings)
        plan = allocation_plan(
            strategies=[item], positions=holdings, in_flight=broker.in_flight(), contracts=contracts, flatten_unowned=False
        )
        for line in plan.diff:
            if line["delta"]:
                order = SimulatedOrder(
                    symbol=line["symbol"], con_id=line["con_id"], quantity=line["delta"], decided_at=now, owner=line["owner"]
                )
                broker.submit(order, self.ctx)

    def _is_session(self, now: dt.datetime) -> bool:
        """A weekday with no bar in the strategy's first series (a holiday) is skipped once that is known."""
        ctx = self.ctx
        if not ctx.price_keys:
            return True
        series = ctx.series.get(next(iter(ctx.price_keys.values())))
        if series is None or not series.sessions:
            return True
        if self.sessions is None:
            self.sessions = set(series.sessions)
        day = now.astimezone(NEW_YORK).date()
        return day in self.sessions or day > series.sessions[-1]


class InlineExecutor(concurrent.futures.ThreadPoolExecutor):  # asyncio accepts no other kind
    """`asyncio.to_thread` inside a backtest runs at once, on this thread. Live, a strategy moves its
    indicator math off the worker's loop; here nothing else waits on the loop, and the hop to a thread
    and back cost more than the math (2/3 of a 30-minute run's time; docs/BENCHMARKS.md)."""

    def submit(self, fn, /, *args, **kwargs):
        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the caller's await raises it, as a thread's would
            future.set_exception(exc)
        return future


def _loading(action, ctx: SimulatedContext):
    """Run `action`, loading any key's bars it finds missing from memory (outside the loop) and retrying."""
    while True:
        try:
            return action()
        except BarsNotLoaded as need:
            ctx.series_load(need.key)


def result_json(result: dict) -> str:
    """The result as printed by `--json`: the same result gives the same bytes."""
    return json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
