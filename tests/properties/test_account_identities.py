"""Property: after every fill, the paper gateway's account figures add up, as IB's do — and the console's
`summary` intent reports the same figures.

Hypothesis draws sequences of trades in several currencies — US stocks (USD), EUR.USD and GBP.USD on
IDEALPRO (EUR/GBP against USD, keeping a CASH position), USD.JPY (USD against JPY) and EUR.USD on FXCONV
(a conversion, no position) — with price moves between them. They are placed through the console
worker's own ib_insync client. After each fill (its commission report in, then one round trip so every
update the gateway sent with the fill has been read), the test checks, from what the client holds:

- per-currency cash (`CashBalance` and `TotalCashBalance` in the pushed account values, `CashBalance` in
  a fresh account summary) equals the cash this test books itself from the executions and commission
  reports (commission included); the BASE CashBalance is TotalCashValue;
- TotalCashValue = Σ CashBalance × ExchangeRate; NetLiquidation = TotalCashValue + Σ stock market value;
  GrossPositionValue = Σ |market value| (converted to USD) of the portfolio; NetLiquidationByCurrency =
  that currency's cash + stock value; UnrealizedPnL = Σ portfolio unrealized P&L;
- the portfolio holds exactly the positions the fills add up to, each valued at its market price, and
  its unrealized P&L is position × (price − average cost);
- the summary subscription the client keeps open was refreshed with the fill (the issue's stale
  GrossPositionValue 0.00), and agrees with the pushed account values;
- at the end of each sequence, the console's `summary` intent's figures equal the client's.

`IDENTITY_EXAMPLES` sets how many sequences run (default 6, about fifteen seconds here);
`IDENTITY_STEPS` the most trades per sequence (default 6). The figures are printed at the end (run
with `-s` to see them).
"""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ib_insync import Forex, MarketOrder, Stock

from tests.intents.conftest import submit_and_wait
from trading.intents.account import TAGS
from trading.models import RunStatus

EXAMPLES = int(os.environ.get("IDENTITY_EXAMPLES", "6"))
STEPS = int(os.environ.get("IDENTITY_STEPS", "6"))
TOLERANCE = 0.05  # the gateway sends money with 2 decimals: a few cents of rounding over a handful of rows

# (key, contract, gateway symbol, quantity unit, price range for moves)
INSTRUMENTS = {
    "SPY": (lambda: Stock("SPY", "SMART", "USD"), "SPY", 1, (300.0, 600.0)),
    "AAPL": (lambda: Stock("AAPL", "SMART", "USD"), "AAPL", 1, (100.0, 300.0)),
    "EUR.USD": (lambda: Forex("EURUSD"), "EUR.USD", 1000, (0.9, 1.3)),
    "GBP.USD": (lambda: Forex("GBPUSD"), "GBP.USD", 1000, (1.1, 1.5)),
    "USD.JPY": (lambda: Forex("USDJPY"), "USD.JPY", 1000, (120.0, 170.0)),
    "EUR.USD@FXCONV": (lambda: Forex("EURUSD", exchange="FXCONV"), "EUR.USD", 1000, (0.9, 1.3)),
}

trade = st.tuples(
    st.sampled_from(sorted(INSTRUMENTS)),
    st.integers(min_value=-40, max_value=40).filter(bool),  # units of the instrument's lot
    st.none() | st.tuples(st.sampled_from(sorted(INSTRUMENTS)), st.floats(min_value=0.0, max_value=1.0)),
)  # (what to trade, how many lots, which price to move first and where to: a fraction of its range)

FIGURES = {"examples": 0, "trades": 0, "currencies": set(), "worst": 0.0, "worst_what": ""}


def deviation(what: str, got: float, expected: float) -> None:
    off = abs(got - expected)
    if off > FIGURES["worst"]:
        FIGURES["worst"], FIGURES["worst_what"] = off, what
    assert off <= TOLERANCE, f"{what}: gateway says {got:.4f}, the identity says {expected:.4f} (off by {off:.4f})"


def numbers(rows, account: str) -> dict[tuple[str, str], float]:
    out = {}
    for v in rows:
        if v.account == account:
            try:
                out[(v.tag, v.currency)] = float(v.value)
            except ValueError:
                continue
    return out


async def fresh_summary(ib, account: str) -> dict[tuple[str, str], float]:
    """One reqAccountSummary, its rows only, then cancelled."""
    rows = []
    req_id = ib.client.getReqId()
    future = ib.wrapper.startReq(req_id)
    listen = rows.append  # one object: eventkit disconnects by identity (trading/intents/account.py)
    ib.accountSummaryEvent += listen
    ib.client.reqAccountSummary(req_id, "All", TAGS)
    try:
        await asyncio.wait_for(future, 10)
    finally:
        ib.accountSummaryEvent -= listen
        ib.client.cancelAccountSummary(req_id)
    return numbers(rows, account)


async def trade_once(ib, key: str, lots: int, book: dict) -> None:
    make, _symbol, unit, _ = INSTRUMENTS[key]
    contract = make()
    await ib.qualifyContractsAsync(contract)
    quantity = abs(lots) * unit
    placed = ib.placeOrder(contract, MarketOrder("BUY" if lots > 0 else "SELL", quantity))
    deadline = asyncio.get_running_loop().time() + 10
    while not (placed.isDone() and placed.fills and all(f.commissionReport.execId for f in placed.fills)):
        assert asyncio.get_running_loop().time() < deadline, f"{key} {lots}: no fill with its commission"
        await asyncio.sleep(0.01)
    assert placed.orderStatus.status == "Filled", placed.log
    for fill in placed.fills:  # book it ourselves: the reference the gateway's figures must match
        signed = fill.execution.shares * (1 if fill.execution.side == "BOT" else -1)
        cash = book["cash"]
        cash[contract.currency] -= signed * fill.execution.price
        if contract.secType == "CASH":
            cash[contract.symbol] += signed
        cash[fill.commissionReport.currency] -= fill.commissionReport.commission
        if not (contract.secType == "CASH" and contract.exchange == "FXCONV"):
            book["positions"][contract.conId] += signed
    # The gateway sends account values, portfolio and summary right after the commission report; an
    # answer to a request sent now comes after them on the same socket.
    await ib.reqCurrentTimeAsync()


async def check_identities(ib, account: str, book: dict) -> None:
    values = numbers(ib.accountValues(), account)
    subscribed = numbers(ib.wrapper.acctSummary.values(), account)  # before a fresh request refills the cache
    summary = await fresh_summary(ib, account)
    rates = {ccy: rate for (tag, ccy), rate in values.items() if tag == "ExchangeRate" and ccy != "BASE"}
    cash = {ccy: amount for (tag, ccy), amount in values.items() if tag == "CashBalance" and ccy != "BASE"}
    FIGURES["currencies"] |= {c for c, amount in cash.items() if amount}

    for ccy in set(book["cash"]) | set(cash):
        deviation(f"CashBalance {ccy} vs our book", cash.get(ccy, 0.0), book["cash"][ccy])
        deviation(f"TotalCashBalance {ccy}", values.get(("TotalCashBalance", ccy), 0.0), cash.get(ccy, 0.0))
        deviation(f"summary CashBalance {ccy}", summary.get(("CashBalance", ccy), 0.0), cash.get(ccy, 0.0))

    portfolio = [p for p in ib.portfolio() if p.account == account and p.position]
    held = {p.contract.conId: p.position for p in portfolio}
    assert held == {c: q for c, q in book["positions"].items() if q}, "portfolio vs the fills"
    stock_value = defaultdict(float)
    gross = unrealized = 0.0
    for item in portfolio:
        rate = rates[item.contract.currency]
        deviation(f"{item.contract.localSymbol} marketValue", item.marketValue, item.position * item.marketPrice)
        deviation(
            f"{item.contract.localSymbol} unrealizedPNL",
            item.unrealizedPNL,
            item.position * (item.marketPrice - item.averageCost),
        )
        gross += abs(item.marketValue) * rate
        unrealized += item.unrealizedPNL * rate
        if item.contract.secType != "CASH":
            stock_value[item.contract.currency] += item.marketValue

    total_cash = sum(amount * rates[ccy] for ccy, amount in cash.items())
    stocks = sum(value * rates[ccy] for ccy, value in stock_value.items())
    deviation("TotalCashValue = Σ cash × rate", values[("TotalCashValue", "USD")], total_cash)
    deviation("NetLiquidation = cash + positions", values[("NetLiquidation", "USD")], total_cash + stocks)
    deviation("GrossPositionValue = Σ|market value|", values[("GrossPositionValue", "USD")], gross)
    deviation("UnrealizedPnL = Σ portfolio unrealized", values[("UnrealizedPnL", "BASE")], unrealized)
    deviation("CashBalance BASE = TotalCashValue", values[("CashBalance", "BASE")], values[("TotalCashValue", "USD")])
    deviation("NetLiquidationByCurrency BASE", values[("NetLiquidationByCurrency", "BASE")], total_cash + stocks)
    for ccy, amount in cash.items():
        deviation(
            f"NetLiquidationByCurrency {ccy}",
            values[("NetLiquidationByCurrency", ccy)],
            amount + stock_value.get(ccy, 0.0),
        )
    for tag in ("NetLiquidation", "TotalCashValue", "GrossPositionValue", "AvailableFunds", "BuyingPower"):
        deviation(f"summary {tag}", summary[(tag, "USD")], values[(tag, "USD")])
        deviation(f"summary subscription {tag} (pushed after the fill)", subscribed[(tag, "USD")], values[(tag, "USD")])


async def subscribe_summary(ib) -> None:
    await ib.reqAccountSummaryAsync()


async def start_book(ib, account: str) -> dict:
    await ib.reqCurrentTimeAsync()
    values = numbers(ib.accountValues(), account)
    cash = defaultdict(float, {ccy: v for (tag, ccy), v in values.items() if tag == "CashBalance" and ccy != "BASE"})
    positions = defaultdict(float, {p.contract.conId: p.position for p in ib.portfolio() if p.account == account})
    return {"cash": cash, "positions": positions}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the seeded settings rows
@pytest.mark.paper_gateway(tick_interval=0)
def test_account_figures_obey_ibs_identities_after_every_fill(paper_gateway, console_worker):
    worker = console_worker
    ib = worker.worker.ib
    account = ib.managedAccounts()[0]
    worker.call(subscribe_summary(ib))  # a summary subscription left open, as ib_insync's cache keeps one

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.lists(trade, min_size=1, max_size=STEPS))
    def sequence(trades):
        FIGURES["examples"] += 1
        book = worker.call(start_book(ib, account))
        worker.call(check_identities(ib, account, book))
        for key, lots, move in trades:
            if move is not None:
                _make, symbol, _unit, (low, high) = INSTRUMENTS[move[0]]
                paper_gateway.set_price(symbol, round(low + (high - low) * move[1], 2 if high > 10 else 4))
            worker.call(trade_once(ib, key, lots, book), timeout=20)
            FIGURES["trades"] += 1
            worker.call(check_identities(ib, account, book))
        run = submit_and_wait("summary")
        assert run.status == RunStatus.SUCCEEDED, run.error
        console = {(row["tag"], row["currency"]): row["value"] for row in run.result["account_summary"]}
        values = numbers(ib.accountValues(), account)
        for (tag, ccy), value in values.items():
            if tag in ("NetLiquidation", "TotalCashValue", "GrossPositionValue") or tag == "CashBalance":
                deviation(f"console summary {tag} {ccy}", float(console[(tag, ccy)]), value)

    sequence()
    print(
        f"\nidentities: {FIGURES['examples']} examples, {FIGURES['trades']} trades, currencies "
        f"{sorted(FIGURES['currencies'])}, worst deviation {FIGURES['worst']:.4f} ({FIGURES['worst_what'] or '-'})"
    )
    assert FIGURES["trades"] >= EXAMPLES
