"""The gateway's instrument universe and contract matching.

The listings are in :mod:`trading.ibsim.listings` (IB's real conIds where known, stable made-up
ones elsewhere) and the option chains in :mod:`trading.ibsim.options`. FX pairs trade on IDEALPRO
(creates a position and moves cash) and FXCONV (a cash conversion: moves cash only), like IB.
Indexes are quoted but not tradable. An unknown contract is IB error 200.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from trading.ibsim import listings

US_EASTERN = "US/Eastern"

# SMART-routed executions are reported with the venue IB would name.
_VENUES = {"NASDAQ": "ISLAND", "ARCA": "ARCA", "NYSE": "NYSE", "BATS": "BATS"}


@dataclass(frozen=True)
class ContractQuery:
    """A contract as a client sent it: any field may be empty."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""


@dataclass(frozen=True)
class Instrument:
    """One instrument and what the simulator needs to price it."""

    con_id: int
    symbol: str
    sec_type: str
    currency: str
    primary_exchange: str
    local_symbol: str
    trading_class: str
    long_name: str
    min_tick: float
    base_price: float
    annual_vol: float
    exchanges: tuple[str, ...]
    industry: str = ""
    category: str = ""
    subcategory: str = ""
    stock_type: str = ""
    market_rule_id: int = 26
    last_trade: str = ""  # futures and options: yyyymmdd
    strike: float = 0.0
    right: str = ""
    multiplier: float = 1.0
    under_con_id: int = 0
    under_symbol: str = ""
    under_sec_type: str = ""
    since: str = ""  # first day of history (reqHeadTimeStamp), yyyymmdd
    core: bool = False  # priced on every step from the start (the rest once first asked for)

    @property
    def is_fx(self) -> bool:
        return self.sec_type == "CASH"

    @property
    def is_option(self) -> bool:
        return self.sec_type == "OPT"

    @property
    def is_tradable(self) -> bool:
        """Indexes are quoted and have history but cannot be traded."""
        return self.sec_type != "IND"

    @property
    def multiplier_text(self) -> str:
        """The multiplier as contracts carry it: empty for stocks, FX and indexes."""
        return f"{self.multiplier:g}" if self.sec_type in ("FUT", "OPT") else ""

    @property
    def contract_month(self) -> str:
        return self.last_trade[:6]

    @property
    def default_exchange(self) -> str:
        return self.exchanges[0]

    @property
    def time_zone(self) -> str:
        return US_EASTERN

    def venue(self, exchange: str) -> str:
        """The exchange an execution is reported on (IB names the venue, not SMART)."""
        if self.is_fx:
            return exchange or "IDEALPRO"
        if self.is_option:
            return "CBOE"
        return _VENUES.get(self.primary_exchange, self.primary_exchange)


def _stock(con_id, symbol, primary, name, price, vol, stock_type="ETF", industry="", category="", since="",
           core=False):  # fmt: skip
    return Instrument(
        con_id=con_id,
        symbol=symbol,
        sec_type="STK",
        currency="USD",
        primary_exchange=primary,
        local_symbol=symbol,
        trading_class=symbol if primary != "NASDAQ" else "NMS",
        long_name=name,
        min_tick=0.01,
        base_price=price,
        annual_vol=vol,
        exchanges=("SMART", primary, "AMEX", "ARCA", "BATS", "ISLAND", "NYSE"),
        industry=industry or ("Funds" if stock_type == "ETF" else "Technology"),
        category=category or ("Equity Fund" if stock_type == "ETF" else "Computers"),
        stock_type=stock_type,
        market_rule_id=26,
        since=since,
        core=core,
    )


def _fx(con_id, base, quote, price, vol, tick, core=False):
    return Instrument(
        con_id=con_id,
        symbol=base,
        sec_type="CASH",
        currency=quote,
        primary_exchange="",
        local_symbol=f"{base}.{quote}",
        trading_class=f"{base}.{quote}",
        long_name=listings.CURRENCY_NAMES[base],
        min_tick=tick,
        base_price=price,
        annual_vol=vol,
        exchanges=("IDEALPRO", "FXCONV"),
        market_rule_id=239,
        since="20050301",
        core=core,
    )


def _index(con_id, symbol, exchange, name, level, vol, since):
    return Instrument(
        con_id=con_id, symbol=symbol, sec_type="IND", currency="USD", primary_exchange=exchange,
        local_symbol=symbol, trading_class=symbol, long_name=name, min_tick=0.01, base_price=level,
        annual_vol=vol, exchanges=(exchange,), industry="Indices", category="Broad Range Equity Index",
        market_rule_id=26, since=since,
    )  # fmt: skip


_MONTH_CODES = "FGHJKMNQUVXZ"


def _third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


def _business_days_before(day: dt.date, count: int) -> dt.date:
    while count:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def future_expiries(cycle: str, today: dt.date, count: int = 2) -> list[tuple[str, dt.date]]:
    """The next ``count`` (contract month, last trade day) of a futures cycle not yet expired."""
    found = []
    year, month = today.year, today.month
    while len(found) < count:
        if cycle == "Q" and month % 3 == 0:
            last = _third_friday(year, month)
        elif cycle == "M":
            prior = dt.date(year, month, 1) - dt.timedelta(days=1)
            last = _business_days_before(prior.replace(day=25), 3)
        else:
            last = None
        if last is not None and last >= today:
            found.append((f"{year}{month:02d}", last))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def _futures(today: dt.date) -> list[Instrument]:
    out = []
    for symbol, exchange, name, multiplier, price, vol, tick, cycle in listings.FUTURES:
        for month, last in future_expiries(cycle, today):
            local = f"{symbol}{_MONTH_CODES[int(month[4:]) - 1]}{month[3]}"
            out.append(Instrument(
                con_id=listings.made_up_con_id(f"FUT:{symbol}:{month}"), symbol=symbol, sec_type="FUT",
                currency="USD", primary_exchange=exchange, local_symbol=local, trading_class=symbol,
                long_name=name, min_tick=tick, base_price=price, annual_vol=vol,
                exchanges=(exchange, "GLOBEX") if exchange == "CME" else (exchange,),
                industry="Futures", category=name, market_rule_id=26, last_trade=last.strftime("%Y%m%d"),
                multiplier=float(multiplier), since=(last - dt.timedelta(days=730)).strftime("%Y%m%d"),
            ))  # fmt: skip
    return out


def _con_id(symbol: str, known: int | None) -> int:
    return known if known is not None else listings.made_up_con_id(symbol)


# The instruments of the first releases, in their original order: priced on every step from the
# start, as before (the walk of each is seeded by its conId, so adding listings changes none).
_CORE = ("SPY", "QQQ", "IWM", "TLT", "GLD", "VIXY", "AAPL", "MSFT", "NVDA", "TSLA", "AMZN")
# VIXY's conId predates the made-up scheme: kept so saved states and scripts keep working.
_LEGACY_CON_IDS = {"VIXY": 500000001}


def build_universe(today: dt.date | None = None) -> tuple[Instrument, ...]:
    """Every listing but the options: stocks, ETFs, FX pairs, indexes and the front futures."""
    today = today or dt.datetime.now(dt.UTC).date()
    stocks = {}
    for symbol, known, primary, name, price, vol, since in listings.ETFS:
        con_id = _LEGACY_CON_IDS.get(symbol) or _con_id(symbol, known)
        stocks[symbol] = _stock(con_id, symbol, primary, name, price, vol, since=since, core=symbol in _CORE)
    for symbol, known, primary, name, price, vol, industry, category, since in listings.STOCKS:
        stocks[symbol] = _stock(
            _con_id(symbol, known), symbol, primary, name, price, vol, "COMMON", industry, category,
            since or _made_up_since(symbol), core=symbol in _CORE,
        )  # fmt: skip
    first = [stocks.pop(symbol) for symbol in _CORE]
    fx = [
        _fx(_con_id(f"{base}.{quote}", known), base, quote, price, vol, tick, core=known is not None)
        for base, quote, known, price, vol, tick in listings.FX
    ]
    indexes = [_index(_con_id(symbol, known), symbol, *rest) for symbol, known, *rest in listings.INDEXES]
    return (*first, *fx[:6], *stocks.values(), *fx[6:], *indexes, *_futures(today))


def _made_up_since(symbol: str) -> str:
    """A stable first day of history for a listing whose listing date is not in the table."""
    day = dt.date(1980, 3, 17) + dt.timedelta(days=listings.made_up_con_id(symbol) % 9000)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day.strftime("%Y%m%d")


UNIVERSE: tuple[Instrument, ...] = build_universe()

MARKET_RULES = {26: ((0.0, 0.01),), 239: ((0.0, 0.00005),), 110: ((0.0, 0.01), (3.0, 0.05))}


class Universe:
    """Lookup of instruments by conId and by symbol, and IB-style contract matching."""

    def __init__(self, instruments: tuple[Instrument, ...] = UNIVERSE, options: list[Instrument] | None = None) -> None:
        from trading.ibsim import options as chains  # the chains are built from these instruments

        self.instruments = instruments  # everything but the options
        if options is None:
            options = chains.options_of(instruments, dt.datetime.now(dt.UTC).date())
        self.options = options
        self.by_con_id = {inst.con_id: inst for inst in (*instruments, *options)}
        self._options_by_symbol: dict[str, list[Instrument]] = {}
        for inst in options:
            self._options_by_symbol.setdefault(inst.symbol, []).append(inst)
            if inst.trading_class != inst.symbol:
                self._options_by_symbol.setdefault(inst.trading_class, []).append(inst)

    def get(self, con_id: int) -> Instrument | None:
        return self.by_con_id.get(con_id)

    def by_symbol(self, symbol: str) -> Instrument:
        """Find an instrument by ``SPY`` or ``EUR.USD``/``EURUSD``; raises KeyError if unknown."""
        wanted = symbol.upper().replace("/", ".")
        for inst in self.instruments:
            if wanted in (inst.local_symbol, inst.local_symbol.replace(".", "")):
                return inst
            if not inst.is_fx and wanted == inst.symbol:
                return inst
        raise KeyError(f"unknown symbol {symbol!r}")

    def match(self, query: ContractQuery) -> list[tuple[Instrument, str]]:
        """Every (instrument, exchange) a client's contract can mean; empty means IB error 200."""
        if query.con_id:
            inst = self.by_con_id.get(query.con_id)
            candidates = [inst] if inst else []
        elif query.sec_type.upper() in ("OPT", "FOP"):
            pool = self._options_by_symbol.get((query.symbol or query.trading_class).upper(), [])
            candidates = [inst for inst in pool if _matches_fields(inst, query)]
            if not query.symbol and query.local_symbol:
                candidates = [inst for inst in self.options if _matches_fields(inst, query)]
        else:
            candidates = [inst for inst in self.instruments if _matches_fields(inst, query)]
        results = []
        for inst in candidates:
            exchange = query.exchange or inst.default_exchange
            if exchange in inst.exchanges or exchange == inst.primary_exchange:
                results.append((inst, exchange))
        return results

    def resolve(self, query: ContractQuery) -> tuple[Instrument, str] | None:
        """The single instrument a contract means, or None if it is unknown or ambiguous."""
        matches = self.match(query)
        return matches[0] if len(matches) == 1 else None


def _matches_fields(inst: Instrument, query: ContractQuery) -> bool:
    """Field-by-field match as TWS does for a contract without conId: every given field must agree."""
    if query.local_symbol and query.local_symbol.replace(" ", "") != inst.local_symbol.replace(" ", ""):
        return False
    if not query.symbol and not query.local_symbol:
        return False
    if query.symbol and query.symbol.upper() != inst.symbol:
        return False
    if query.sec_type and query.sec_type.upper() != inst.sec_type:
        return False
    if query.currency and query.currency.upper() != inst.currency:
        return False
    if query.primary_exchange and query.primary_exchange != inst.primary_exchange:
        return False
    if query.last_trade and not inst.last_trade.startswith(query.last_trade):
        return False
    if query.strike and abs(query.strike - inst.strike) > 1e-9:
        return False
    if query.right and query.right.upper()[:1] != inst.right:
        return False
    if query.multiplier and inst.multiplier_text and float(query.multiplier) != inst.multiplier:
        return False
    if query.trading_class and query.trading_class not in (inst.trading_class, inst.symbol):
        return False
    return True
