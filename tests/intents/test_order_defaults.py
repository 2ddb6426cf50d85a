"""The settings' order defaults are honoured: with default_order_type LMT, built-in intents send limit
orders priced from the quote (midpoint ± limit_offset_bps); no quote refuses the order, never a silent
market order; close_all keeps market orders."""

import pytest

from tests.harness import wait_until
from tests.intents.conftest import gateway_positions, submit_and_wait
from tests.intents.factories import switches_set, target_make
from trading.intents.context import IntentContext, Quote
from trading.models import Order, OrderStatus, RunStatus

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.paper_gateway(tick_interval=0)]


def console_orders(paper_gateway) -> list[tuple]:
    return [
        (o["action"], o["total_quantity"], o["order_type"], o["lmt_price"]) for o in paper_gateway.orders() if o["client_id"] == 1
    ]


def test_with_a_limit_default_allocation_buys_with_a_limit_10_bps_above_the_midpoint(
    paper_gateway, console_worker, trading_enabled
):
    switches_set(default_order_type="LMT")
    paper_gateway.set_price("SPY", 100)  # bid 99.99, ask 100.01
    target_make("testsignalgenerator", {"SPY": 5})

    run = submit_and_wait("allocation")

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert console_orders(paper_gateway) == [("BUY", 5, "LMT", 100.10)]
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 5}, what="the marketable limit filled")


def test_a_mode_row_offset_prices_a_sell_below_the_midpoint(paper_gateway, console_worker, trading_enabled):
    switches_set(default_order_type="LMT", limit_offset_bps=50)
    paper_gateway.set_price("SPY", 100)

    run = submit_and_wait("place_order", {"symbol": "SPY", "action": "SELL", "quantity": 2}, dry_run=False)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert console_orders(paper_gateway) == [("SELL", 2, "LMT", 99.5)]
    assert (run.result["order_type"], run.result["limit_price"]) == ("LMT", 99.5)


def test_with_no_quote_a_default_limit_order_is_refused_and_recorded_never_sent_at_market(
    paper_gateway, console_worker, trading_enabled, monkeypatch
):
    switches_set(default_order_type="LMT")

    async def no_quote(self, contract):
        return Quote(None, None, None)  # what ctx.quote answers when IB sends no bid/ask in time

    monkeypatch.setattr(IntentContext, "quote", no_quote)

    run = submit_and_wait("place_order", {"symbol": "SPY", "action": "BUY", "quantity": 2}, dry_run=False)

    assert run.status == RunStatus.FAILED and "no quote for SPY (bid/ask) to price a default limit order" in run.error
    assert console_orders(paper_gateway) == []
    assert Order.objects.get(run=run).status == OrderStatus.REFUSED


def test_close_all_keeps_market_orders_under_a_limit_default(paper_gateway, console_worker, trading_enabled):
    paper_gateway.external_trade("SPY", 4)
    wait_until(lambda: any(p.position == 4 for p in console_worker.worker.ib.positions()), what="the SPY position")
    switches_set(default_order_type="LMT")

    run = submit_and_wait("close_all", dry_run=False, timeout=130)  # the intent's own bound (120 s), not 30 s

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert console_orders(paper_gateway) == [("SELL", 4, "MKT", None)]
    wait_until(lambda: gateway_positions(paper_gateway) == {}, what="flat")


def test_close_all_closes_with_limit_orders_when_its_caller_asks(paper_gateway, console_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)
    submit_and_wait("place_order", {"symbol": "SPY", "action": "BUY", "quantity": 4, "order_type": "MKT"}, dry_run=False)
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 4}, what="4 SPY held")

    run = submit_and_wait("close_all", {"orderType": "LMT"}, dry_run=False, timeout=130)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert console_orders(paper_gateway)[-1] == ("SELL", 4, "LMT", 99.90)  # the midpoint less 10 bps: marketable
    wait_until(lambda: gateway_positions(paper_gateway) == {}, what="flat")
