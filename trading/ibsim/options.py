"""Option chains and their prices: listings for a few underlyings, priced by Black-Scholes from the
underlying's live quote.

Chains (``CHAINS``): SPY and AAPL (weekly Friday and monthly expiries, trading class = symbol) and
SPX (monthly third-Friday expiries in class SPX, weeklies in class SPXW), strikes on a fixed grid
from 80% to 120% of the underlying's starting price, calls and puts, multiplier 100. Expiries are
counted from the day the gateway starts, so the chains roll forward like real ones.

conIds are made up and stable: ``1_000_000_000 + (((chain << 12 | days) << 14 | strike*2) << 1 | put)``
where ``days`` counts from 2020-01-01 to the expiry - unique, within IB's 32-bit range, and the same
option always gets the same number.

Prices: Black-Scholes with a 4% rate and no dividends; the volatility is the underlying's annual
volatility with a smile (``vol * (1 + 0.5 * |ln(K/S)| - 0.2 * ln(K/S))``). The quote is the model
price with a spread of 1% (at least a tick) each side; ``last`` is the model price. Greeks go out as
tickOptionComputation (bid, ask, last and model) with every quote, as IB sends them.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
import time
from dataclasses import dataclass

from trading.ibsim.contracts import Instrument
from trading.ibsim.market import Quote, round_to_tick

RATE = 0.04
MULTIPLIER = 100.0
EPOCH = dt.date(2020, 1, 1)
OPTION_EXCHANGES = ("SMART", "CBOE", "AMEX", "ISE", "PHLX", "BOX")


@dataclass(frozen=True)
class Chain:
    number: int  # part of the conId: never reuse one
    symbol: str
    trading_class: str
    strike_step: float
    weeklies: int  # how many coming Fridays (the monthly one included where it falls)
    monthlies: int  # how many coming third Fridays
    min_tick: float
    exchanges: tuple[str, ...] = OPTION_EXCHANGES


CHAINS = (
    Chain(1, "SPY", "SPY", 1.0, 5, 3, 0.01),
    Chain(2, "AAPL", "AAPL", 2.5, 4, 3, 0.01),
    Chain(3, "SPX", "SPX", 5.0, 0, 4, 0.05, ("SMART", "CBOE")),
    Chain(4, "SPX", "SPXW", 5.0, 5, 0, 0.05, ("SMART", "CBOE")),
)


def option_con_id(chain: Chain, expiry: dt.date, strike: float, right: str) -> int:
    days = (expiry - EPOCH).days
    return 1_000_000_000 + ((((chain.number << 12) | days) << 14 | int(round(strike * 2))) << 1 | (right == "P"))


def _fridays(today: dt.date, count: int) -> list[dt.date]:
    day = today + dt.timedelta(days=(4 - today.weekday()) % 7)
    return [day + dt.timedelta(weeks=i) for i in range(count)]


def _third_fridays(today: dt.date, count: int) -> list[dt.date]:
    found, year, month = [], today.year, today.month
    while len(found) < count:
        first = dt.date(year, month, 1)
        third = first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)
        if third >= today:
            found.append(third)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def expiries(chain: Chain, today: dt.date) -> list[dt.date]:
    days = set(_fridays(today, chain.weeklies)) | set(_third_fridays(today, chain.monthlies))
    if chain.trading_class == "SPXW":  # the third Friday belongs to the monthly SPX class
        days -= set(_third_fridays(today, 12))
    return sorted(days)


def strikes(chain: Chain, base_price: float) -> list[float]:
    step = chain.strike_step
    low, high = math.ceil(base_price * 0.8 / step), math.floor(base_price * 1.2 / step)
    return [round(i * step, 2) for i in range(low, high + 1)]


def build_options(underlyings: dict[str, Instrument], today: dt.date) -> list[Instrument]:
    """Every option of every chain whose underlying is listed."""
    out = []
    for chain in CHAINS:
        under = underlyings.get(chain.symbol)
        if under is None:
            continue
        for expiry in expiries(chain, today):
            stamp = expiry.strftime("%Y%m%d")
            for strike in strikes(chain, under.base_price):
                for right in ("C", "P"):
                    local = f"{chain.trading_class:<6}{stamp[2:]}{right}{int(round(strike * 1000)):08d}"
                    out.append(Instrument(
                        con_id=option_con_id(chain, expiry, strike, right), symbol=chain.symbol, sec_type="OPT",
                        currency="USD", primary_exchange="", local_symbol=local,
                        trading_class=chain.trading_class, long_name=under.long_name, min_tick=chain.min_tick,
                        base_price=under.base_price, annual_vol=under.annual_vol, exchanges=chain.exchanges,
                        industry=under.industry, category=under.category, market_rule_id=26, last_trade=stamp,
                        strike=strike, right=right, multiplier=MULTIPLIER, under_con_id=under.con_id,
                        under_symbol=under.symbol, under_sec_type=under.sec_type,
                        since=(expiry - dt.timedelta(days=365)).strftime("%Y%m%d"),
                    ))  # fmt: skip
    return out


@functools.lru_cache(maxsize=4)
def options_of(instruments: tuple[Instrument, ...], today: dt.date) -> list[Instrument]:
    """The options of a universe on a day (built once: every gateway of a test run shares them)."""
    underlyings = {inst.symbol: inst for inst in instruments if inst.sec_type in ("STK", "IND")}
    return build_options(underlyings, today)


def chains_for(options: list[Instrument], under_con_id: int) -> list[tuple[str, str, list[str], list[float]]]:
    """reqSecDefOptParams rows: (exchange, trading class, expirations, strikes) per exchange and class."""
    by_class: dict[str, tuple[set, set, tuple]] = {}
    for inst in options:
        if inst.under_con_id == under_con_id:
            row = by_class.setdefault(inst.trading_class, (set(), set(), inst.exchanges))
            row[0].add(inst.last_trade)
            row[1].add(inst.strike)
    rows = []
    for trading_class, (days, strike_set, exchanges) in by_class.items():
        for exchange in exchanges:
            rows.append((exchange, trading_class, sorted(days), sorted(strike_set)))
    return rows


# --- Black-Scholes ------------------------------------------------------------------------------


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Greeks:
    """What tickOptionComputation carries (vega per vol point, theta per calendar day)."""

    implied_vol: float
    delta: float
    price: float
    pv_dividend: float
    gamma: float
    vega: float
    theta: float
    under_price: float

    def fields(self) -> tuple:
        return (self.implied_vol, self.delta, self.price, self.pv_dividend, self.gamma, self.vega, self.theta,
                self.under_price)  # fmt: skip


def black_scholes(right: str, spot: float, strike: float, years: float, vol: float, rate: float = RATE) -> Greeks:
    years = max(years, 1e-6)
    vol = max(vol, 1e-4)
    root = vol * math.sqrt(years)
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * years) / root
    d2 = d1 - root
    discount = math.exp(-rate * years)
    if right == "C":
        price = spot * _cdf(d1) - strike * discount * _cdf(d2)
        delta = _cdf(d1)
        theta = -spot * _pdf(d1) * vol / (2 * math.sqrt(years)) - rate * strike * discount * _cdf(d2)
    else:
        price = strike * discount * _cdf(-d2) - spot * _cdf(-d1)
        delta = _cdf(d1) - 1.0
        theta = -spot * _pdf(d1) * vol / (2 * math.sqrt(years)) + rate * strike * discount * _cdf(-d2)
    gamma = _pdf(d1) / (spot * root)
    vega = spot * _pdf(d1) * math.sqrt(years) / 100.0
    return Greeks(vol, delta, max(price, 0.0), 0.0, gamma, vega, theta / 365.0, spot)


def implied_vol(right: str, price: float, spot: float, strike: float, years: float) -> float | None:
    """The volatility that prices the option at ``price`` (bisection), or None when none does."""
    low, high = 1e-4, 5.0
    if not black_scholes(right, spot, strike, years, low).price <= price <= black_scholes(right, spot, strike, years, high).price:
        return None
    for _ in range(80):
        middle = (low + high) / 2
        if black_scholes(right, spot, strike, years, middle).price < price:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def smile_vol(inst: Instrument, spot: float) -> float:
    moneyness = math.log(inst.strike / spot)
    return inst.annual_vol * (1 + 0.5 * abs(moneyness) - 0.2 * moneyness)


def years_to_expiry(inst: Instrument, now: float | None = None) -> float:
    """Time to 16:00 New York on the expiry day, at least an hour."""
    from trading.ibsim.history import NEW_YORK

    expiry = dt.datetime.strptime(inst.last_trade, "%Y%m%d").replace(hour=16, tzinfo=NEW_YORK)
    seconds = expiry.timestamp() - (time.time() if now is None else now)
    return max(seconds, 3600.0) / (365.0 * 86400.0)


def model(inst: Instrument, spot: float, vol: float | None = None) -> Greeks:
    return black_scholes(inst.right, spot, inst.strike, years_to_expiry(inst),
                         smile_vol(inst, spot) if vol is None else vol)  # fmt: skip


# --- live quotes --------------------------------------------------------------------------------


class OptionPricer:
    """Keeps the quotes of the options somebody asked for in step with their underlyings."""

    def __init__(self, market) -> None:
        self.market = market
        self._by_underlying: dict[int, list[Instrument]] = {}

    def start(self, inst: Instrument) -> None:
        self._by_underlying.setdefault(inst.under_con_id, []).append(inst)
        self._quote(inst, None)

    def reprice(self, changed: list[int]) -> list[int]:
        out = []
        for con_id in changed:
            for inst in self._by_underlying.get(con_id, ()):
                self._quote(inst, self.market.quotes.get(inst.con_id))
                out.append(inst.con_id)
        return out

    def _quote(self, inst: Instrument, previous: Quote | None) -> None:
        spot = self.market.quote(inst.under_con_id).price
        greeks = model(inst, spot)
        tick = inst.min_tick
        price = max(round_to_tick(greeks.price, tick), tick)
        half = max(tick, round_to_tick(price * 0.01, tick))
        bid = max(round_to_tick(price - half, tick), 0.0)
        ask = round_to_tick(price + half, tick)
        rng = random.Random(f"{inst.con_id}:{int(time.time())}")
        size = float(rng.randint(1, 10))
        if previous is None:
            session_open, high, low, volume, close = price, price, price, 0.0, price
        else:
            session_open, close = previous.open, previous.close
            high, low = max(previous.high, price), min(previous.low, price)
            volume = previous.volume + (size if price != previous.price else 0.0)
        self.market.quotes[inst.con_id] = Quote(
            con_id=inst.con_id, price=price, bid=bid, ask=ask, last=price, bid_size=float(rng.randint(10, 200)),
            ask_size=float(rng.randint(10, 200)), last_size=size, open=session_open, high=high, low=low,
            close=close, volume=volume, updated_at=time.time(), greeks=greeks,
        )  # fmt: skip
