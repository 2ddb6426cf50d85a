"""Live prices: a deterministic random walk per instrument.

Each instrument has its own ``random.Random`` seeded from ``"<seed>:<conId>"`` (string seeds are
hashed with SHA-512, so the walk is the same on every run and machine for the same seed and number
of steps). A step moves the unrounded price by a log-normal return scaled so that one step is
``seconds_per_step`` of market time at the instrument's annual volatility.

The quote around a price is one tick each side: ``set_price("SPY", 100)`` gives bid 99.99,
last 100.00, ask 100.01, so a market buy fills at 100.01 and a buy limit at 100.00 or higher fills.
FX pairs have no last price (IB sends only bid/ask for CASH); their mark is the midpoint.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass

from trading.ibsim.contracts import Instrument, Universe

TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600
MAX_CATCH_UP = 5000  # steps replayed one by one for an instrument first quoted late


@dataclass
class Quote:
    """Top of book and session statistics for one instrument."""

    con_id: int
    price: float
    bid: float
    ask: float
    last: float | None
    bid_size: float
    ask_size: float
    last_size: float
    open: float
    high: float
    low: float
    close: float
    volume: float
    updated_at: float
    greeks: object = None  # options: their model Greeks (trading.ibsim.options.Greeks)


def _decimals(tick: float) -> int:
    return max(0, -math.floor(math.log10(tick) + 1e-9))


def round_to_tick(price: float, tick: float) -> float:
    """Round a price to the instrument's minimum price increment."""
    return round(round(price / tick) * tick, _decimals(tick))


class Market:
    """Current quotes for the whole universe, moved by :meth:`step` or set by tests."""

    def __init__(self, universe: Universe, seed: int = 1, seconds_per_step: float = 5.0) -> None:
        self.universe = universe
        self.seed = seed
        self.seconds_per_step = seconds_per_step
        self.steps = 0  # random-walk steps taken since the start
        self._rngs: dict[int, random.Random] = {}
        self._step_vol: dict[int, float] = {}
        self._raw: dict[int, float] = {}
        self.quotes: dict[int, Quote] = {}
        self._walking: list[Instrument] = []  # the instruments stepped (the rest catch up when asked for)
        from trading.ibsim.options import OptionPricer  # options import this module

        self.derived = OptionPricer(self)  # options: priced from their underlying
        for inst in universe.instruments:
            if inst.core:
                self._start(inst)

    def _start(self, inst: Instrument) -> None:
        """Begin pricing an instrument: its opening quote, then the steps the walk has taken so far."""
        self._rngs[inst.con_id] = random.Random(f"{self.seed}:{inst.con_id}")
        self._step_vol[inst.con_id] = inst.annual_vol * math.sqrt(self.seconds_per_step / TRADING_SECONDS_PER_YEAR)
        self._open_session(inst)
        missed = self.steps
        if missed > MAX_CATCH_UP:  # one draw for the whole gap (still fixed by the seed and the count)
            rng = self._rngs[inst.con_id]
            self._raw[inst.con_id] *= math.exp(self._step_vol[inst.con_id] * math.sqrt(missed) * rng.gauss(0.0, 1.0))
            self._requote(inst, self._raw[inst.con_id])
        else:
            for _ in range(missed):
                self._walk(inst)
        self._walking.append(inst)

    def _ensure(self, con_id: int) -> None:
        if con_id not in self.quotes:
            inst = self.universe.by_con_id[con_id]
            if inst.is_option:
                self.derived.start(inst)
            else:
                self._start(inst)

    def _open_session(self, inst: Instrument) -> None:
        rng = self._rngs[inst.con_id]
        start = inst.base_price * math.exp(0.05 * rng.gauss(0.0, 1.0))
        prior_close = round_to_tick(
            start * math.exp(-inst.annual_vol / 16 * rng.gauss(0.0, 1.0)), inst.min_tick
        )
        self._raw[inst.con_id] = start
        self.quotes[inst.con_id] = self._make_quote(inst, start, prior_close, None)

    def _make_quote(self, inst: Instrument, raw: float, close: float, previous: Quote | None) -> Quote:
        rng = self._rngs[inst.con_id]
        tick = inst.min_tick
        price = round_to_tick(raw, tick)
        lot = 1_000_000 if inst.is_fx else 100
        last_size = 0.0 if inst.is_fx else float(rng.randint(1, 5) * lot)
        if previous is None:
            session_open, high, low, volume = price, price, price, 0.0
        else:
            session_open, volume = previous.open, previous.volume + last_size
            high, low = max(previous.high, price), min(previous.low, price)
        return Quote(
            con_id=inst.con_id,
            price=price,
            bid=round_to_tick(price - tick, tick),
            ask=round_to_tick(price + tick, tick),
            last=None if inst.is_fx else price,
            bid_size=float(rng.randint(1, 20) * lot),
            ask_size=float(rng.randint(1, 20) * lot),
            last_size=last_size,
            open=session_open,
            high=high,
            low=low,
            close=close,
            volume=volume,
            updated_at=time.time(),
        )

    def quote(self, con_id: int) -> Quote:
        quote = self.quotes.get(con_id)
        if quote is None:
            self._ensure(con_id)
            quote = self.quotes[con_id]
        return quote

    def mark(self, con_id: int) -> float:
        """The price positions are valued at: last trade for stocks, midpoint for FX."""
        return self.quote(con_id).price

    def _walk(self, inst: Instrument) -> None:
        con_id = inst.con_id
        raw = self._raw[con_id] * math.exp(self._step_vol[con_id] * self._rngs[con_id].gauss(0.0, 1.0))
        self._raw[con_id] = raw
        self._requote(inst, raw)

    def step(self) -> list[int]:
        """Move every priced instrument one random-walk step; return the conIds whose quote changed.

        Only instruments somebody has asked for are stepped; any other catches up on the walk (the
        same steps, from the same seed) the first time it is quoted, so the universe can be large."""
        self.steps += 1
        changed = []
        for inst in self._walking:
            self._walk(inst)
            changed.append(inst.con_id)
        changed += self.derived.reprice(changed)
        return changed

    def with_derived(self, con_ids: list[int]) -> list[int]:
        """After prices were set by hand: the options on them re-priced too; all the conIds moved."""
        return [*con_ids, *self.derived.reprice(con_ids)]

    def set_price(self, con_id: int, price: float) -> Quote:
        """Put an instrument's price exactly at ``price`` (rounded to its tick)."""
        if price <= 0:
            raise ValueError("price must be positive")
        inst = self.universe.by_con_id[con_id]
        if inst.is_option:
            raise ValueError("an option's price follows its underlying: set the underlying's price")
        self._ensure(con_id)
        self._raw[con_id] = price
        return self._requote(inst, price)

    def move_price(self, con_id: int, delta: float = 0.0, percent: float = 0.0) -> Quote:
        """Move an instrument's price by an absolute amount and/or a percentage."""
        price = self.quote(con_id).price * (1 + percent / 100.0) + delta
        return self.set_price(con_id, price)

    def _requote(self, inst: Instrument, raw: float) -> Quote:
        previous = self.quotes[inst.con_id]
        quote = self._make_quote(inst, raw, previous.close, previous)
        self.quotes[inst.con_id] = quote
        return quote

    def start_new_day(self) -> None:
        """Session rollover: today's close becomes the prior close, statistics restart."""
        for quote in self.quotes.values():
            quote.close = quote.open = quote.high = quote.low = quote.price
            quote.volume = 0.0

    def prices(self) -> dict[int, float]:
        """The unrounded prices, for saving state."""
        return dict(self._raw)

    def restore_prices(self, prices: dict[int, float]) -> None:
        """Continue from saved prices (unknown conIds are ignored)."""
        for con_id, raw in prices.items():
            inst = self.universe.get(int(con_id))
            if inst is not None and not inst.is_option:
                self._ensure(inst.con_id)
                self._raw[inst.con_id] = float(raw)
                self._requote(inst, float(raw))
