"""The simulated context: what a strategy's unchanged `targets()` gets in a backtest.

It answers what the live IntentContext answers, from the backtest's own world:
- `history()`: stored bars visible at the simulated moment `now` (trading/backtest/bars.py) — never
  a bar that ends after it — or `BarsMissing` naming the range the store lacks;
- `account_snapshot()`: NetLiquidation from the simulated broker, marked at the last visible closes;
- `target_previous()`: the run's own last successful target, kept in memory;
- `qualify()`: stable contract ids (CRC-32 of the symbol), so the same inputs give the same output;
- `config`: the settings snapshot taken when the backtest started; `log()` keeps notes, writes nothing.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from trading.backtest.bars import NEW_YORK, SESSIONS_PER_UNIT, BarSeries, bars_load, parse_duration, session_gaps, weekdays_back
from trading.intents.account import AccountSnapshot
from trading.intents.context import IntentError
from trading.intents.strategy import NO_BARS

# Holidays and the store's first day: a window may start this many calendar days after what was asked.
EDGE_SLACK_DAYS = 6
MISSING = "no stored {what} bars of {bar_size} for {symbol} from {first} to {last}"
GET_THEM = '--fetch (API: "fetch": true) asks the IB worker for them; or import a CSV with manage.py bars_import'


class BarsNotLoaded(BaseException):  # noqa: N818 — a signal, not an error
    """Raised inside a step when a key's bars are not in memory yet: the engine loads them outside the
    event loop (the ORM refuses to run inside one) and repeats the step. A BaseException so that a
    strategy's own `except Exception` cannot swallow it (the same reason asyncio.CancelledError is one)."""

    def __init__(self, key: tuple[str, str, str]):
        super().__init__(key)
        self.key = key


class BarsMissing(Exception):
    """The store lacks bars a backtest needs: `ranges` are (symbol, bar_size, what_to_show, first, last);
    `note` says what was done about it (by default: how to get them)."""

    def __init__(self, ranges: list[tuple[str, str, str, dt.date, dt.date]], note: str | None = None):
        self.ranges = ranges
        listed = "; ".join(MISSING.format(symbol=s, bar_size=b, what=w, first=f, last=t) for s, b, w, f, t in ranges)
        super().__init__(f"{listed} ({note or GET_THEM})")


@dataclass(frozen=True)
class ConfigSnapshot:
    """The settings a backtest runs with, fixed at its start (never the live, changing ones)."""

    overall_exposure: float
    mode: str = "backtest"
    account: str = "BACKTEST"
    soft_stop: bool = False
    flatten_unowned_positions: bool = False


@dataclass
class PastTarget:
    pk: int
    rows: list[dict]
    metadata: dict


@dataclass
class SimulatedContext:
    config: ConfigSnapshot
    broker: object  # trading.backtest.broker.SimulatedBroker
    run_end: dt.datetime
    now: dt.datetime | None = None
    series: dict[tuple[str, str, str], BarSeries] = field(default_factory=dict)
    price_keys: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    targets: list[PastTarget] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: set = field(default_factory=set)
    run = None
    worker = None
    orders = None
    ib = None

    dry_run = False

    @property
    def mode(self) -> str:
        return self.config.mode

    @property
    def account(self) -> str:
        return self.config.account

    async def db(self, fn, /, *args, **kwargs):
        return fn(*args, **kwargs)

    async def db_read(self, fn, /, *args, **kwargs):
        return fn(*args, **kwargs)

    async def fresh_config(self) -> ConfigSnapshot:
        return self.config  # a snapshot: the live settings never leak into a backtest

    async def log(self, message: str, **_ignored) -> None:
        self.notes.append(message)

    async def flush_records(self) -> None:
        return None

    async def qualify(self, *contracts):
        for contract in contracts:
            contract.conId = contract_id(contract.symbol)
        return list(contracts)

    async def history(self, contract, *, duration: str, bar_size: str, end="", what_to_show: str = "TRADES") -> list:
        key = (contract.symbol, bar_size, what_to_show)
        series = self.series_of(key)
        moment = self.now if not end else min(self.now, _end_moment(end))
        self._check_coverage(key, series, moment, duration)
        self.price_keys.setdefault(contract.symbol, key)
        bars = series.window(moment, duration, bar_size)
        if not bars:
            raise IntentError(NO_BARS.format(bar_size=bar_size, symbol=contract.symbol, duration=duration))
        return bars

    async def account_snapshot(self) -> AccountSnapshot:
        equity, gross = self.broker.equity(self.now, self)
        values = {
            ("NetLiquidation", "USD"): repr(equity),
            ("TotalCashValue", "USD"): repr(self.broker.cash),
            ("GrossPositionValue", "USD"): repr(gross),
        }
        return AccountSnapshot(account=self.account, values=values)

    async def target_previous(self, strategy_id: str) -> PastTarget | None:
        return self.targets[-1] if self.targets else None

    async def price(self, contract) -> float:
        bar = self.last_at(contract.symbol, self.now)
        if bar is None:
            raise IntentError(f"no market price for {contract.symbol} at {self.now:%Y-%m-%d %H:%M}")
        return bar.close

    def target_keep(self, rows: list[dict], metadata: dict) -> None:
        self.targets.append(PastTarget(pk=len(self.targets) + 1, rows=rows, metadata=metadata))

    # Prices for the broker: the key the strategy asked for each symbol.
    def series_of(self, key: tuple[str, str, str]) -> BarSeries:
        if key not in self.series:
            raise BarsNotLoaded(key)
        return self.series[key]

    def series_load(self, key: tuple[str, str, str]) -> None:
        """Outside the event loop: read a key's bars from the database into memory."""
        self.series[key] = bars_load(symbol=key[0], bar_size=key[1], what_to_show=key[2], until=self.run_end)

    def last_at(self, symbol: str, moment: dt.datetime):
        return self._prices(symbol).last_at(moment)

    def next_after(self, symbol: str, moment: dt.datetime):
        return self._prices(symbol).next_after(moment)

    def _prices(self, symbol: str) -> BarSeries:
        key = self.price_keys.get(symbol) or (symbol, "1 day", "TRADES")
        return self.series_of(key)

    def _check_coverage(self, key, series: BarSeries, moment: dt.datetime, duration: str) -> None:
        """Once per key and duration: the store must hold the whole window, from the first request's
        look-back to the run's end, without holes."""
        if (key, duration) in self.checked:
            return
        self.checked.add((key, duration))
        count, unit = parse_duration(duration)
        sessions = 1 if unit == "S" else count * SESSIONS_PER_UNIT[unit]
        last_day = self.run_end.astimezone(NEW_YORK).date()
        first_day = weekdays_back(moment.astimezone(NEW_YORK).date(), sessions)
        if not series.bars:
            raise BarsMissing([(*key, first_day, last_day)])
        ranges = []
        stored_first, stored_last = series.sessions[0], series.sessions[-1]
        if stored_first > first_day + dt.timedelta(days=EDGE_SLACK_DAYS):
            ranges.append((*key, first_day, stored_first - dt.timedelta(days=1)))
        if stored_last < last_day - dt.timedelta(days=EDGE_SLACK_DAYS):
            ranges.append((*key, stored_last + dt.timedelta(days=1), last_day))
        for gap_first, gap_last in session_gaps(series.sessions, max(first_day, stored_first), min(last_day, stored_last)):
            ranges.append((*key, gap_first, gap_last))
        if ranges:
            raise BarsMissing(ranges)


def contract_id(symbol: str) -> int:
    return zlib.crc32(symbol.encode()) & 0x7FFFFFFF


def _end_moment(end) -> dt.datetime:
    """An IB endDateTime ('20250303 23:59:59 US/Eastern', zone optional: UTC) as a UTC moment."""
    parts = str(end).split()
    moment = dt.datetime.strptime(f"{parts[0]} {parts[1] if len(parts) > 1 else '23:59:59'}", "%Y%m%d %H:%M:%S")
    return moment.replace(tzinfo=ZoneInfo(parts[2] if len(parts) > 2 else "UTC")).astimezone(dt.UTC)
