"""The gateway's instrument universe and contract matching.

Stocks and ETFs carry IB's real conIds so code written against the paper gateway keeps working
against a real account. FX pairs trade on IDEALPRO (creates a position and moves cash) and FXCONV
(a cash conversion: moves cash only), like IB. An unknown contract is IB error 200.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """One tradable instrument and what the simulator needs to price it."""

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

    @property
    def is_fx(self) -> bool:
        return self.sec_type == "CASH"

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
        return _VENUES.get(self.primary_exchange, self.primary_exchange)


def _stock(con_id, symbol, primary, name, price, vol, stock_type="ETF", industry="", category=""):
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
    )


_CURRENCY_NAMES = {
    "EUR": "European Monetary Union Euro",
    "GBP": "British pound",
    "USD": "US Dollar",
    "AUD": "Australian dollar",
}


def _fx(con_id, base, quote, price, vol, tick):
    return Instrument(
        con_id=con_id,
        symbol=base,
        sec_type="CASH",
        currency=quote,
        primary_exchange="",
        local_symbol=f"{base}.{quote}",
        trading_class=f"{base}.{quote}",
        long_name=_CURRENCY_NAMES[base],
        min_tick=tick,
        base_price=price,
        annual_vol=vol,
        exchanges=("IDEALPRO", "FXCONV"),
        market_rule_id=239,
    )


# VIXY's conId is the simulator's own (stable) number; every other conId is IB's.
UNIVERSE: tuple[Instrument, ...] = (
    _stock(756733, "SPY", "ARCA", "SPDR S&P 500 ETF TRUST", 560.0, 0.18),
    _stock(320227571, "QQQ", "NASDAQ", "INVESCO QQQ TRUST SERIES 1", 480.0, 0.22),
    _stock(9579970, "IWM", "ARCA", "ISHARES RUSSELL 2000 ETF", 220.0, 0.24),
    _stock(15547841, "TLT", "NASDAQ", "ISHARES 20+ YEAR TREASURY BD", 92.0, 0.15),
    _stock(51529211, "GLD", "ARCA", "SPDR GOLD SHARES", 240.0, 0.15),
    _stock(500000001, "VIXY", "BATS", "PROSHARES VIX SHORT-TERM FUTU", 14.0, 0.70),
    _stock(265598, "AAPL", "NASDAQ", "APPLE INC", 225.0, 0.28, "COMMON"),
    _stock(272093, "MSFT", "NASDAQ", "MICROSOFT CORP", 420.0, 0.26, "COMMON", "Technology", "Software"),
    _stock(4815747, "NVDA", "NASDAQ", "NVIDIA CORP", 120.0, 0.50, "COMMON", "Technology", "Semiconductors"),
    _stock(76792991, "TSLA", "NASDAQ", "TESLA INC", 240.0, 0.55, "COMMON", "Consumer, Cyclical", "Auto"),
    _stock(3691937, "AMZN", "NASDAQ", "AMAZON.COM INC", 185.0, 0.32, "COMMON", "Communications", "Internet"),
    _fx(12087792, "EUR", "USD", 1.0850, 0.08, 0.00005),
    _fx(12087797, "GBP", "USD", 1.2700, 0.09, 0.00005),
    _fx(15016059, "USD", "JPY", 150.00, 0.10, 0.005),
    _fx(15016062, "USD", "CAD", 1.3600, 0.07, 0.00005),
    _fx(14433401, "AUD", "USD", 0.6600, 0.11, 0.00005),
    _fx(12087820, "USD", "CHF", 0.8800, 0.08, 0.00005),
)

MARKET_RULES = {26: ((0.0, 0.01),), 239: ((0.0, 0.00005),)}


class Universe:
    """Lookup of instruments by conId and by symbol, and IB-style contract matching."""

    def __init__(self, instruments: tuple[Instrument, ...] = UNIVERSE) -> None:
        self.instruments = instruments
        self.by_con_id = {inst.con_id: inst for inst in instruments}

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
    if query.local_symbol and query.local_symbol.replace(" ", "") != inst.local_symbol:
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
    return True
