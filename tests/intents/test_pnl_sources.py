"""One source of P&L: IB's reqPnL / reqPnLSingle streams, recorded by the worker, read alike by the
dashboard's snapshot (account card and positions rows), the API and the `summary` intent; and the
`summary` intent's account figures are those of after the last fill, not of connect time."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from django.utils import timezone
from ib_insync import MarketOrder, Stock

from tests.api.conftest import BearerClient
from tests.harness import wait_until
from tests.intents.conftest import submit_and_wait
from trading.dashboard.snapshot import snapshot_build
from trading.models import Position, RunStatus
from trading.tokens import token_create

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.paper_gateway(tick_interval=0)]


def buy(worker, symbol: str, quantity: int):
    async def place():
        ib = worker.worker.ib
        contract = Stock(symbol, "SMART", "USD")
        await ib.qualifyContractsAsync(contract)
        return ib.placeOrder(contract, MarketOrder("BUY" if quantity > 0 else "SELL", abs(quantity)))

    trade = worker.call(place())
    wait_until(lambda: trade.isDone() and all(f.commissionReport.execId for f in trade.fills), what=f"{symbol} filled")
    return trade


def unrealized(symbol: str) -> float | None:
    row = Position.objects.filter(symbol=symbol).first()
    return float(row.unrealized_pnl) if row and row.unrealized_pnl is not None else None


def test_position_rows_carry_reqpnlsingle_and_the_account_card_reqpnl_and_they_agree(paper_gateway, console_worker, bob):
    paper_gateway.set_price("SPY", 400.00)
    paper_gateway.set_price("AAPL", 200.00)
    spy, aapl = buy(console_worker, "SPY", 100), buy(console_worker, "AAPL", -30)
    spy_cost = spy.fills[0].execution.price + spy.fills[0].commissionReport.commission / 100  # IB: commission in cost
    aapl_cost = aapl.fills[0].execution.price - aapl.fills[0].commissionReport.commission / 30

    paper_gateway.set_price("SPY", 410.00)
    paper_gateway.set_price("AAPL", 190.00)

    spy_expected = round(100 * (410.00 - spy_cost), 2)  # unrealized = position × (mark − average cost)
    aapl_expected = round(-30 * (190.00 - aapl_cost), 2)
    wait_until(lambda: unrealized("SPY") == pytest.approx(spy_expected, abs=0.01), what=f"SPY P&L {spy_expected}")
    wait_until(lambda: unrealized("AAPL") == pytest.approx(aapl_expected, abs=0.01), what=f"AAPL P&L {aapl_expected}")
    console_worker.flush()

    wait_until(
        lambda: (
            (p := snapshot_build(user=bob)["payload"]["pnl"]) is not None
            and float(p["unrealized_pnl"]) == pytest.approx(spy_expected + aapl_expected, abs=0.02)
        ),
        what="the card's reqPnL unrealized",
    )
    payload = snapshot_build(user=bob)["payload"]
    rows = {p["symbol"]: p for p in payload["positions"]}
    card = payload["pnl"]
    assert float(card["unrealized_pnl"]) == pytest.approx(sum(float(r["unrealized_pnl"]) for r in rows.values()), abs=0.02)
    assert float(rows["SPY"]["market_value"]) == pytest.approx(41_000.00)
    assert (timezone.now() - datetime.fromisoformat(card["at"])).total_seconds() < 5  # pushed every second
    for row in rows.values():
        assert (timezone.now() - datetime.fromisoformat(row["updated_at"])).total_seconds() < 5

    api = BearerClient(token_create(user=bob, name="pnl")[1]).get("/api/summary").json()
    api_rows = {p["symbol"]: p for p in api["positions"]}
    assert float(api["pnl"]["unrealized_pnl"]) == pytest.approx(
        sum(float(r["unrealized_pnl"]) for r in api_rows.values()), abs=0.02
    )
    assert not any(v["tag"].startswith("PnL.") for v in api["account_values"])

    run = submit_and_wait("summary")
    assert run.status == RunStatus.SUCCEEDED, run.error
    pnl = run.result["pnl"]
    intent_rows = {p["con_id"]: p for p in pnl["positions"]}
    assert float(pnl["account"]["unrealized_pnl"]) == pytest.approx(
        sum(float(p["unrealized_pnl"]) for p in intent_rows.values()), abs=0.02
    )
    assert float(intent_rows[spy.contract.conId]["unrealized_pnl"]) == pytest.approx(spy_expected, abs=0.01)


def test_a_flat_position_stops_its_pnl_stream(paper_gateway, console_worker):
    buy(console_worker, "SPY", 10)
    streams = console_worker.worker.pnl
    wait_until(lambda: any(con_id == 756733 for _, con_id in streams.singles), what="a reqPnLSingle for SPY")
    buy(console_worker, "SPY", -10)
    wait_until(lambda: not streams.singles, what="the SPY stream no longer wanted")
    wait_until(lambda: not console_worker.worker.ib.wrapper.pnlSingleKey2ReqId, what="the SPY stream cancelled at IB")


def test_position_streams_never_queue_ahead_of_an_order_at_the_throttle(paper_gateway, console_worker):
    """Many positions appearing at once (a basket filled, a restart) used to send one reqPnLSingle each
    at once; past the throttle's budget they queued, and the next order waited behind them."""
    ib, streams = console_worker.worker.ib, console_worker.worker.pnl
    ib.client.MaxRequests = 8  # a small budget, so that ten streams at once would overflow it
    symbols = ["SPY", "QQQ", "IWM", "TLT", "GLD", "VIXY", "AAPL", "MSFT", "NVDA", "AMZN"]
    contract = Stock("SPY", "SMART", "USD")
    console_worker.call(ib.qualifyContractsAsync(contract))

    def basket():  # on the gateway's loop: the ten position changes go out back to back
        for symbol in symbols:
            paper_gateway.gateway.external_trade(symbol, 5)

    async def order_as_the_positions_arrive():
        arrived = asyncio.Event()

        def on_position(_position) -> None:  # after the worker's own listeners, which queue the streams
            if len([p for p in ib.positions() if p.position]) == len(symbols):
                arrived.set()

        ib.positionEvent += on_position
        try:
            on_position(None)
            await asyncio.wait_for(arrived.wait(), 10)
        finally:
            ib.positionEvent -= on_position
        waiting = len(getattr(streams, "pending", ()))
        trade = ib.placeOrder(contract, MarketOrder("SELL", 5))
        return waiting, list(ib.client._msgQ), trade

    future = asyncio.run_coroutine_threadsafe(order_as_the_positions_arrive(), console_worker.loop)
    paper_gateway.call(basket)
    waiting, queued, trade = future.result(15)
    assert queued == [], f"{len(queued)} message(s) (the order, streams) waited at the throttle"
    assert waiting > 0, "the streams were all out already: the test saw nothing"
    wait_until(lambda: trade.isDone(), what="the order filled")
    wait_until(lambda: len(ib.wrapper.pnlSingleKey2ReqId) == len(symbols) - 1, what="every open position's stream")
    assert not streams.pending


def numbers(rows: list[dict]) -> dict[tuple[str, str], float]:
    return {(r["tag"], r["currency"]): float(r["value"]) for r in rows if r["tag"] not in ("AccountType", "Currency")}


def test_summary_reports_the_account_of_after_the_last_fill_not_of_connect_time(paper_gateway, console_worker):
    ib = console_worker.worker.ib

    async def cache_at_connect():
        await ib.reqAccountSummaryAsync()  # what ib_insync's accountSummaryAsync() cache holds from then on

    console_worker.call(cache_at_connect())
    before = submit_and_wait("summary")
    paper_gateway.set_price("SPY", 500.00)
    trade = buy(console_worker, "SPY", 199)
    filled_at = timezone.now()

    run = submit_and_wait("summary")

    assert run.status == RunStatus.SUCCEEDED, run.error
    figures, old = numbers(run.result["account_summary"]), numbers(before.result["account_summary"])
    fill = trade.fills[0]
    cost = 199 * fill.execution.price + fill.commissionReport.commission
    assert figures[("GrossPositionValue", "USD")] == pytest.approx(199 * 500.00, abs=0.01)
    assert figures[("TotalCashValue", "USD")] == pytest.approx(old[("TotalCashValue", "USD")] - cost, abs=0.01)
    assert figures[("CashBalance", "USD")] == pytest.approx(old[("CashBalance", "USD")] - cost, abs=0.01)
    assert datetime.fromisoformat(run.result["as_of"]) >= filled_at


def test_each_summary_lets_go_of_the_account_summary_it_asked_for(paper_gateway, console_worker):
    """account_snapshot listens to ib_insync's accountSummaryEvent for its own answer only: a listener
    left connected would be called for every row of every later answer, and keep them all, for the
    worker's life (each summary slower and the worker bigger than the one before)."""
    event = console_worker.worker.ib.accountSummaryEvent
    submit_and_wait("summary")  # anything connected once, at the first answer, is connected by now
    listeners = len(event)

    runs = [submit_and_wait("summary") for _ in range(3)]

    assert [run.status for run in runs] == [RunStatus.SUCCEEDED] * 3, [run.error for run in runs]
    assert len(event) == listeners, f"{len(event) - listeners} listener(s) left on accountSummaryEvent by 3 summaries"


def test_before_the_first_push_the_card_and_the_api_say_there_is_no_pnl_rather_than_a_stale_one(bob):
    from trading.models import AccountValue

    AccountValue.objects.create(mode="paper", account="DU1", tag="UnrealizedPnL", currency="BASE", value="-26.87")
    assert snapshot_build(user=bob)["payload"]["pnl"] is None
    assert not [v for v in snapshot_build(user=bob)["payload"]["account_values"] if "PnL" in v["tag"]]
    api = BearerClient(token_create(user=bob, name="pnl")[1]).get("/api/summary").json()
    assert api["pnl"] is None

    AccountValue.objects.create(mode="paper", account="DU1", tag="PnL.Unrealized", currency="BASE", value="68.65")
    card = snapshot_build(user=bob)["payload"]["pnl"]
    assert card["unrealized_pnl"] == "68.65" and card["daily_pnl"] is None and card["at"]
    assert BearerClient(token_create(user=bob, name="pnl2")[1]).get("/api/summary").json()["pnl"]["unrealized_pnl"] == "68.65"


def test_summary_lists_todays_fills_from_the_records_even_once_the_session_let_them_go(paper_gateway, console_worker):
    """The worker drops finished fills from ib_insync after RETAIN_DONE_MINUTES; summary's fills come
    from our records, so a fill the session no longer holds is still listed, with its commission."""
    trade = buy(console_worker, "SPY", 3)
    exec_id = trade.fills[0].execution.execId
    console_worker.call(_forget_session_fills(console_worker.worker.ib))  # what retention does after the window

    run = submit_and_wait("summary")

    assert run.status == RunStatus.SUCCEEDED, run.error
    [fill] = [f for f in run.result["fills"] if f["exec_id"] == exec_id]
    assert (fill["symbol"], fill["side"], fill["shares"]) == ("SPY", "BUY", "3")
    assert fill["commission"] is not None and float(fill["price"]) == trade.fills[0].execution.price


async def _forget_session_fills(ib):
    ib.wrapper.fills.clear()
    assert ib.fills() == []
