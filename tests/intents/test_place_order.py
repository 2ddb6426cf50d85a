"""place_order end to end: each order type the paper gateway works, sent through the one order gateway by
real ib_insync, recorded once and attributed orderRef → run → strategy; refusals reach the caller."""

import math

import pytest

from tests.harness import wait_until
from tests.intents.conftest import gateway_positions, submit_and_wait
from tests.intents.factories import switches_set
from trading.intents.orders import KILL_SWITCH
from trading.models import Fill, Holding, Order, OrderStatus, RunStatus

# Prices move only when a test moves them (the random walk is frozen), so a midpoint is known exactly.
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.paper_gateway(tick_interval=0)]


def console_orders(paper_gateway, **where) -> list[dict]:
    """The orders the worker (client 1) sent to the gateway, as the gateway keeps them."""
    return [o for o in paper_gateway.orders() if o["client_id"] == 1 and all(o[key] == value for key, value in where.items())]


def open_console_orders(paper_gateway) -> list[dict]:
    return [o for o in paper_gateway.open_orders() if o["client_id"] == 1]


def status_of(paper_gateway, order_id: int) -> str:
    return console_orders(paper_gateway, order_id=order_id)[0]["status"]


def place(params: dict, **kwargs):
    run = submit_and_wait("place_order", {"symbol": "SPY", **params}, dry_run=False, **kwargs)
    return run


def test_a_market_order_fills_and_is_recorded_once_with_its_run_and_strategy(paper_gateway, console_worker, trading_enabled):
    run = place({"action": "BUY", "quantity": 5, "order_type": "MKT", "strategy": "swing"})

    assert run.status == RunStatus.SUCCEEDED, run.error
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 5}, what="5 SPY bought")
    sent = console_orders(paper_gateway)
    assert [(o["action"], o["total_quantity"], o["order_type"], o["order_ref"]) for o in sent] == [
        ("BUY", 5, "MKT", f"ibc:swing/{run.pk}")
    ]
    wait_until(lambda: Order.objects.get(run=run).status == OrderStatus.FILLED, what="the row filled")
    row = Order.objects.get(run=run)
    assert (row.strategy, row.order_ref, row.order_id) == ("swing", f"ibc:swing/{run.pk}", sent[0]["order_id"])
    wait_until(lambda: Fill.objects.filter(run=run, strategy="swing").count() == 1, what="the fill attributed")
    wait_until(lambda: Holding.objects.filter(strategy="swing", symbol="SPY", quantity=5).exists(), what="swing's holding")
    assert run.result["orders"][0]["order"] == row.pk and run.result["quantity"] == 5


def test_a_limit_order_rests_below_the_market_and_fills_when_the_price_crosses(paper_gateway, console_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)

    run = place({"action": "buy", "quantity": "5", "orderType": "lmt", "limitPrice": "95"})

    assert run.status == RunStatus.SUCCEEDED, run.error
    (resting,) = open_console_orders(paper_gateway)
    assert (resting["order_type"], resting["lmt_price"], resting["status"]) == ("LMT", 95, "Submitted")
    assert gateway_positions(paper_gateway) == {}
    paper_gateway.set_price("SPY", 94.5)
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 5}, what="the limit order filled once crossed")
    wait_until(lambda: Order.objects.get(run=run).status == OrderStatus.FILLED, what="the row filled")
    assert Order.objects.get(run=run).lmt_price == 95


def test_a_stop_order_waits_for_its_stop_price_then_trades(paper_gateway, console_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)

    run = place({"action": "BUY", "quantity": 3, "order_type": "STP", "stop_price": 105})

    assert run.status == RunStatus.SUCCEEDED, run.error
    (waiting,) = open_console_orders(paper_gateway)
    assert (waiting["order_type"], waiting["aux_price"], waiting["status"]) == ("STP", 105, "PreSubmitted")
    paper_gateway.set_price("SPY", 104)
    assert gateway_positions(paper_gateway) == {}
    paper_gateway.set_price("SPY", 106)
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 3}, what="the stop triggered and filled")
    assert Order.objects.get(run=run).aux_price == 105


def test_a_stop_limit_order_carries_both_prices_and_fills_within_its_limit(paper_gateway, console_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)

    run = place({"action": "BUY", "quantity": 2, "order_type": "STP LMT", "stop_price": 105, "limit_price": 107})

    assert run.status == RunStatus.SUCCEEDED, run.error
    (waiting,) = open_console_orders(paper_gateway)
    assert (waiting["order_type"], waiting["aux_price"], waiting["lmt_price"]) == ("STP LMT", 105, 107)
    paper_gateway.set_price("SPY", 106)
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 2}, what="the stop limit filled")
    row = Order.objects.get(run=run)
    assert (row.order_type, row.aux_price, row.lmt_price) == ("STP LMT", 105, 107)


def test_a_bracket_is_one_entry_and_two_exits_and_a_take_profit_fill_cancels_the_stop_loss(
    paper_gateway, console_worker, trading_enabled
):
    paper_gateway.set_price("SPY", 100)

    run = place({"action": "BUY", "quantity": 10, "limit_price": 101, "take_profit": 110, "stop_loss": 90})

    assert run.status == RunStatus.SUCCEEDED, run.error
    entry, take_profit, stop_loss = sorted(console_orders(paper_gateway), key=lambda o: o["order_id"])
    assert (entry["order_type"], entry["lmt_price"], entry["parent_id"]) == ("LMT", 101, 0)
    assert (take_profit["action"], take_profit["order_type"], take_profit["lmt_price"]) == ("SELL", "LMT", 110)
    assert (stop_loss["action"], stop_loss["order_type"], stop_loss["aux_price"]) == ("SELL", "STP", 90)
    assert take_profit["parent_id"] == stop_loss["parent_id"] == entry["order_id"]
    assert take_profit["oca_group"] == stop_loss["oca_group"] != ""
    sent_as = {t.order.orderId: t.order.transmit for t in console_worker.worker.ib.trades()}  # the gateway keeps the last
    assert [sent_as[o["order_id"]] for o in (entry, take_profit, stop_loss)] == [False, False, True]
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 10}, what="the entry filled")

    paper_gateway.set_price("SPY", 111)

    wait_until(lambda: gateway_positions(paper_gateway) == {}, what="the take-profit sold the position")
    wait_until(lambda: status_of(paper_gateway, stop_loss["order_id"]) == "Cancelled", what="the stop-loss cancelled")
    rows = {row.order_id: row for row in Order.objects.filter(run=run)}
    assert len(rows) == 3 and rows[take_profit["order_id"]].parent_id == rows[entry["order_id"]].pk
    wait_until(
        lambda: Order.objects.get(pk=rows[stop_loss["order_id"]].pk).status == OrderStatus.CANCELLED,
        what="the stop-loss row cancelled",
    )
    assert [o["parent"] for o in run.result["orders"]] == [None, rows[entry["order_id"]].pk, rows[entry["order_id"]].pk]


def test_notional_buys_whole_shares_rounded_down_at_the_midpoint(paper_gateway, console_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)  # bid 99.99, ask 100.01: midpoint 100

    run = place({"action": "BUY", "notional": "1099", "order_type": "MKT"})

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.result["quantity"], run.result["price_used"], run.result["sizing"]) == (10, 100, "notional")
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 10}, what="10 SPY bought")


def test_percent_sizes_from_net_liquidation(paper_gateway, console_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)

    run = place({"action": "BUY", "percent": 0.5, "order_type": "MKT"})

    assert run.status == RunStatus.SUCCEEDED, run.error
    net_liquidation = next(
        float(v.value) for v in console_worker.worker.ib.accountSummary() if v.tag == "NetLiquidation" and v.currency == "USD"
    )
    assert run.result["price_used"] == 100
    assert run.result["quantity"] == math.floor(net_liquidation * 0.005 / 100)


def test_a_dry_run_records_the_planned_bracket_and_sends_nothing(paper_gateway, console_worker, trading_enabled):
    run = submit_and_wait(
        "place_order",
        {"symbol": "SPY", "action": "SELL", "quantity": 4, "limit_price": 500, "take_profit": 400, "stop_loss": 550},
        dry_run=True,
    )

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert console_orders(paper_gateway) == []
    rows = list(Order.objects.filter(run=run).order_by("pk"))
    assert [(r.action, r.order_type, r.status) for r in rows] == [
        ("SELL", "LMT", OrderStatus.PLANNED), ("BUY", "LMT", OrderStatus.PLANNED), ("BUY", "STP", OrderStatus.PLANNED),
    ]  # fmt: skip
    assert rows[1].parent_id == rows[2].parent_id == rows[0].pk


def test_the_kill_switch_refusal_is_the_runs_error_and_nothing_is_sent(paper_gateway, console_worker):
    switches_set(trading_enabled=False, dry_run_default=False)

    run = place({"action": "BUY", "quantity": 1, "order_type": "MKT"})

    assert run.status == RunStatus.FAILED and KILL_SWITCH in run.error
    assert console_orders(paper_gateway) == []
    assert Order.objects.get(run=run).status == OrderStatus.REFUSED


def test_under_soft_stop_an_order_that_would_flip_the_position_is_refused(paper_gateway, console_worker, trading_enabled):
    paper_gateway.external_trade("SPY", 5)
    wait_until(lambda: any(p.position == 5 for p in console_worker.worker.ib.positions()), what="the SPY position")
    switches_set(trading_enabled=True, soft_stop=True)

    flip = place({"action": "SELL", "quantity": 8, "order_type": "MKT"})
    reduce = place({"action": "SELL", "quantity": 5, "order_type": "MKT"})

    assert flip.status == RunStatus.FAILED and "soft stop is on: SELL 8 SPY would take the position from 5 to -3" in flip.error
    assert reduce.status == RunStatus.SUCCEEDED, reduce.error
    wait_until(lambda: gateway_positions(paper_gateway) == {}, what="the reducing order filled")


def test_under_soft_stop_a_bracket_is_refused_because_its_exits_would_reopen(paper_gateway, console_worker, trading_enabled):
    paper_gateway.external_trade("SPY", 5)
    wait_until(lambda: any(p.position == 5 for p in console_worker.worker.ib.positions()), what="the SPY position")
    switches_set(trading_enabled=True, soft_stop=True)

    run = place({"action": "SELL", "quantity": 5, "limit_price": 90, "take_profit": 80, "stop_loss": 120})

    assert run.status == RunStatus.FAILED and "a bracket is refused" in run.error
    assert console_orders(paper_gateway) == []


def test_a_quantity_over_the_limit_is_refused_with_the_limit_named(paper_gateway, console_worker, trading_enabled):
    switches_set(max_order_quantity=10)

    run = place({"action": "BUY", "quantity": 11, "order_type": "MKT"})

    assert run.status == RunStatus.FAILED and "11.0 SPY exceeds the maximum order quantity 10" in run.error
    assert console_orders(paper_gateway) == []
    assert Order.objects.get(run=run).last_error == run.error


def test_a_bracket_exit_is_held_to_the_notional_limit_at_its_own_price(paper_gateway, console_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)
    switches_set(max_order_notional=1500)

    run = place({"action": "BUY", "quantity": 10, "limit_price": 101, "take_profit": 200, "stop_loss": 90})

    assert run.status == RunStatus.FAILED and "over the maximum order notional 1500" in run.error
    assert console_orders(paper_gateway) == []


def test_a_brackets_two_exits_do_not_make_a_long_look_short_under_soft_stop(paper_gateway, console_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)
    run = place({"action": "BUY", "quantity": 10, "limit_price": 101, "take_profit": 110, "stop_loss": 90})
    assert run.status == RunStatus.SUCCEEDED, run.error
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 10}, what="the entry filled")
    switches_set(trading_enabled=True, soft_stop=True)

    more = place({"action": "BUY", "quantity": 10, "order_type": "MKT"})

    # Counted naively, the two SELL 10 exits would make "before" -10 and this BUY a "reduction".
    assert more.status == RunStatus.FAILED and "would take the position from 10 to 10" in more.error
    assert gateway_positions(paper_gateway) == {"SPY": 10}


def spy_long(paper_gateway, quantity: int) -> None:
    place({"action": "BUY", "quantity": quantity, "order_type": "MKT"})
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": quantity}, what=f"{quantity} SPY held")


def test_a_trailing_stop_by_amount_follows_the_high_and_sells_on_the_pullback(paper_gateway, console_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)
    spy_long(paper_gateway, 10)

    run = place({"action": "SELL", "quantity": 10, "order_type": "TRAIL", "trail_amount": 2})

    assert run.status == RunStatus.SUCCEEDED, run.error
    (trailing,) = open_console_orders(paper_gateway)
    assert (trailing["order_type"], trailing["status"]) == ("TRAIL", "PreSubmitted")
    paper_gateway.set_price("SPY", 105)  # the stop follows the high up to 103
    paper_gateway.set_price("SPY", 103.5)
    assert gateway_positions(paper_gateway) == {"SPY": 10}, "above the trailed stop: still held"
    paper_gateway.set_price("SPY", 102.9)
    wait_until(lambda: gateway_positions(paper_gateway) == {}, what="the trailing stop triggered and sold")
    wait_until(lambda: Order.objects.get(run=run).status == OrderStatus.FILLED, what="the row filled")


def test_a_trailing_stop_by_percent_follows_the_low_and_buys_on_the_bounce(paper_gateway, console_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)

    run = place({"action": "BUY", "quantity": 5, "order_type": "TRAIL", "trail_percent": 1})

    assert run.status == RunStatus.SUCCEEDED, run.error
    paper_gateway.set_price("SPY", 90)  # the stop follows the low down to 90.90
    paper_gateway.set_price("SPY", 90.5)
    assert gateway_positions(paper_gateway) == {}
    paper_gateway.set_price("SPY", 91)
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 5}, what="the trailing buy triggered")


def test_a_market_on_close_order_waits_for_the_close_and_fills_at_the_closing_price(paper_gateway, console_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)

    run = place({"action": "BUY", "quantity": 4, "order_type": "MOC"})

    assert run.status == RunStatus.SUCCEEDED, run.error
    (waiting,) = open_console_orders(paper_gateway)
    assert waiting["order_type"] == "MOC"
    paper_gateway.set_price("SPY", 101)
    assert gateway_positions(paper_gateway) == {}
    paper_gateway.market_close()
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 4}, what="the MOC filled at the close")
    wait_until(lambda: Fill.objects.filter(run=run).exists(), what="the fill recorded")
    assert float(Fill.objects.get(run=run).price) == 101


def test_a_limit_on_close_order_the_close_does_not_meet_is_cancelled(paper_gateway, console_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)

    run = place({"action": "BUY", "quantity": 4, "order_type": "LOC", "limit_price": 99})

    assert run.status == RunStatus.SUCCEEDED, run.error
    paper_gateway.market_close()
    wait_until(lambda: Order.objects.get(run=run).status == OrderStatus.CANCELLED, what="the LOC cancelled at the close")
    assert gateway_positions(paper_gateway) == {}


def test_an_opening_order_waits_for_the_next_open_and_fills_at_the_opening_price(paper_gateway, console_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)

    run = place({"action": "BUY", "quantity": 2, "order_type": "MKT", "tif": "OPG"})

    assert run.status == RunStatus.SUCCEEDED, run.error
    paper_gateway.market_close()
    paper_gateway.set_price("SPY", 102)
    assert gateway_positions(paper_gateway) == {}
    paper_gateway.market_open()
    wait_until(lambda: gateway_positions(paper_gateway) == {"SPY": 2}, what="the OPG order filled at the open")
    wait_until(lambda: Fill.objects.filter(run=run).exists(), what="the fill recorded")
    assert float(Fill.objects.get(run=run).price) == 102
