"""close_all always flattens what it can: limits do not block closing orders, another client's order is
reported (never cancelled one by one, never waited on) and ends the run `partial`."""

import pytest
from django.core.management import call_command
from django.test import Client
from ib_insync import IB, LimitOrder, Stock

from tests.harness import wait_until
from tests.intents.conftest import gateway_positions, submit_and_wait
from tests.intents.factories import switches_set
from trading.management.commands.runintent import EXIT_PARTIAL
from trading.models import ActivityEntry, ActivityKind, IntentRun, Order, OrderStatus, RunStatus
from trading.tokens import token_create

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

OTHER_CLIENT = 7


@pytest.fixture
def other_client(paper_gateway):
    """Another API client on the same account (a second script, another console)."""
    ib = IB()
    ib.connect("127.0.0.1", paper_gateway.port, clientId=OTHER_CLIENT, timeout=10)
    yield ib
    ib.disconnect()


def resting_sell(ib: IB, paper_gateway, symbol: str, quantity: int):
    """A SELL limit far above the market: it stays working."""
    contract = Stock(symbol, "SMART", "USD")
    ib.qualifyContracts(contract)
    trade = ib.placeOrder(contract, LimitOrder("SELL", quantity, round(paper_gateway.quote(symbol)["ask"] * 3, 2)))
    # ib.sleep runs this client's loop (it is not the worker's), so the gateway's answers are read
    wait_until(lambda: ib.sleep(0.02) or trade.orderStatus.status == "Submitted", what="the other client's order to work")
    return trade


def spy_long(paper_gateway, console_worker, quantity: int):
    paper_gateway.external_trade("SPY", quantity)
    wait_until(
        lambda: any(p.contract.symbol == "SPY" and p.position == quantity for p in console_worker.worker.ib.positions()),
        what="the SPY position at the worker",
    )


def foreign_open(paper_gateway) -> list[dict]:
    return [o for o in paper_gateway.open_orders() if o["client_id"] == OTHER_CLIENT]


def test_close_all_flattens_around_another_clients_order_and_ends_partial_naming_it(paper_gateway, console_worker, other_client):
    spy_long(paper_gateway, console_worker, 10)
    foreign = resting_sell(other_client, paper_gateway, "SPY", 10)

    run = submit_and_wait("close_all", {"dryRun": False}, timeout=60)

    assert run.status == RunStatus.PARTIAL, run.error
    assert gateway_positions(paper_gateway) == {}
    assert [o["order_id"] for o in foreign_open(paper_gateway)] == [foreign.order.orderId], "never cancelled by us"
    [report] = run.result["foreign_orders"]
    assert (report["order_id"], report["client_id"], report["status"]) == (foreign.order.orderId, OTHER_CLIENT, "Submitted")
    assert report["would_reopen"] is True and report["position_after_flatten"] == 0
    assert f"order {foreign.order.orderId} of client {OTHER_CLIENT}" in run.error and "would reopen SPY" in run.error
    wait_until(lambda: Order.objects.filter(run=run, status=OrderStatus.FILLED).count() == 1, what="the close recorded")


def test_close_all_is_not_blocked_by_quantity_notional_or_symbol_limits_and_records_the_exemption(paper_gateway, console_worker):
    spy_long(paper_gateway, console_worker, 100)
    switches_set(max_order_quantity=30, max_order_notional=1000, allowed_symbols="QQQ")

    run = submit_and_wait("close_all", {"dryRun": False}, timeout=60)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert gateway_positions(paper_gateway) == {}
    order = Order.objects.get(run=run)
    entry = ActivityEntry.objects.get(kind=ActivityKind.ORDER, run=run, message__startswith="sending:")
    assert entry.payload["order"] == order.pk
    assert entry.payload["exempt"] == ["allowed_symbols", "max_order_quantity", "max_order_notional"]


def test_a_strategy_order_is_still_held_to_the_limits_close_all_is_exempt_from(paper_gateway, console_worker):
    switches_set(trading_enabled=True, dry_run_default=False, max_order_quantity=30)
    from tests.intents.factories import target_make

    target_make("testsignalgenerator", {"SPY": 100})
    run = submit_and_wait("allocation")
    assert run.status == RunStatus.FAILED and "exceeds the maximum order quantity 30" in run.error


def test_with_cancel_foreign_orders_close_all_uses_ibs_global_cancel_and_succeeds(paper_gateway, console_worker, other_client):
    spy_long(paper_gateway, console_worker, 10)
    resting_sell(other_client, paper_gateway, "SPY", 10)
    switches_set(cancel_foreign_orders=True)

    run = submit_and_wait("close_all", {"dryRun": False}, timeout=60)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["global_cancel"] is True and run.result["foreign_orders"] == []
    assert foreign_open(paper_gateway) == []
    assert gateway_positions(paper_gateway) == {}


def test_runintent_exits_7_when_close_all_leaves_another_clients_order(paper_gateway, console_worker, other_client, capsys):
    spy_long(paper_gateway, console_worker, 10)
    resting_sell(other_client, paper_gateway, "SPY", 10)

    with pytest.raises(SystemExit) as exit_:
        call_command("runintent", "close_all", "--live", "--wait", "60")

    assert exit_.value.code == EXIT_PARTIAL == 7
    out = capsys.readouterr().out
    assert "close_all for DU1234567: partial" in out and f"of client {OTHER_CLIENT}" in out  # the gateway's one account
    assert gateway_positions(paper_gateway) == {}


def test_the_api_answers_200_with_status_partial(paper_gateway, console_worker, other_client, alice):
    spy_long(paper_gateway, console_worker, 10)
    resting_sell(other_client, paper_gateway, "SPY", 10)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=alice, name='alice-cron')[1]}")

    response = api.post("/api/intents/close_all?wait=60", {"dryRun": False}, content_type="application/json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == RunStatus.PARTIAL == IntentRun.objects.get().status
    assert body["result"]["foreign_orders"][0]["client_id"] == OTHER_CLIENT


def test_close_all_still_flattens_when_ib_is_slow_to_list_the_working_orders(paper_gateway, console_worker, monkeypatch):
    from trading.intents import flatten

    spy_long(paper_gateway, console_worker, 10)
    monkeypatch.setattr(flatten, "ORDERS_WAIT", 0.3)
    paper_gateway.set_reply_delay(1.0)  # every answer, the open-orders list included, comes a second late

    run = submit_and_wait("close_all", {"dryRun": False}, timeout=60)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert gateway_positions(paper_gateway) == {}
    assert ActivityEntry.objects.filter(run=run, message__contains="did not list the working orders within 0.3s").exists()


def test_two_strategies_recorded_as_holding_one_position_close_it_once_never_past_zero(paper_gateway, console_worker):
    """close_all sends its closes as one batch; a second close of the same contract is checked after the
    first is working, so holdings that over-count a position (10 + 10 of a 10 share position) cannot
    turn a flatten into a short."""
    spy_long(paper_gateway, console_worker, 10)
    from trading.models import Holding, Strategy

    con_id = next(p.contract.conId for p in console_worker.worker.ib.positions() if p.contract.symbol == "SPY")
    for strategy in ("alpha", "beta"):
        Strategy.objects.create(strategy_id=strategy)
        Holding.objects.create(mode="paper", strategy=strategy, con_id=con_id, symbol="SPY", quantity=10)

    run = submit_and_wait("close_all", {"dryRun": False, "strategies": ["alpha", "beta"]}, timeout=60)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert gateway_positions(paper_gateway) == {}
    sent = [o for o in paper_gateway.orders() if o["client_id"] == 1]
    assert sum(o["total_quantity"] for o in sent) == 10, sent


def test_close_all_of_many_positions_sends_every_close_and_asks_ib_for_no_price(paper_gateway, console_worker):
    """The batch: each close is still recorded before it goes and still exempt with its limits named,
    but none waits on a market data snapshot (the price for the exemption is the portfolio's)."""
    symbols = ["SPY", "QQQ", "TLT", "GLD", "IWM"]
    for symbol in symbols:
        paper_gateway.external_trade(symbol, 40)
    wait_until(lambda: len(console_worker.worker.ib.portfolio()) == len(symbols), what="the portfolio at the worker")
    switches_set(max_order_quantity=30, max_order_notional=1000)
    tickers_before = len(console_worker.worker.ib.tickers())  # a market data snapshot leaves a ticker behind

    run = submit_and_wait("close_all", {"dryRun": False}, timeout=60)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert gateway_positions(paper_gateway) == {}
    assert len(console_worker.worker.ib.tickers()) == tickers_before
    entries = ActivityEntry.objects.filter(kind=ActivityKind.ORDER, run=run, message__startswith="sending:")
    assert sorted(e.payload["exempt"] == ["max_order_quantity", "max_order_notional"] for e in entries) == [True] * len(symbols)


def test_close_all_flattens_a_futures_position_on_its_own_exchange(paper_gateway, console_worker):
    """Futures are not SMART-routed: IB refuses a future sent to SMART (error 200)."""
    paper_gateway.external_trade("ES", 2)
    wait_until(
        lambda: any(p.contract.secType == "FUT" and p.position == 2 for p in console_worker.worker.ib.positions()),
        what="the ES position at the worker",
    )

    run = submit_and_wait("close_all", {"dryRun": False}, timeout=60)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert gateway_positions(paper_gateway) == {}
    [row] = Order.objects.filter(run=run)
    assert (row.symbol, row.sec_type, row.exchange, row.status) == ("ES", "FUT", "CME", OrderStatus.FILLED)
