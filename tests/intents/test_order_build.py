"""The orders the gateway builds, field by field (types the paper gateway does not work yet included), and
place_order's parameter validation: each mistake is a 422 naming the field, before anything is queued."""

from decimal import Decimal

import pytest
from ib_insync import Contract, Order
from ib_insync.util import UNSET_DOUBLE

from trading.intents.order_build import (
    NO_QUOTE,
    OrderSpec,
    bracket_children,
    bracket_link,
    limit_from_quote,
    order_build,
    spec_problems,
)
from trading.intents.registry import intent_get
from trading.intents.runs import IntentParamsInvalid, params_validate

SPY = Contract(secType="STK", symbol="SPY", currency="USD")
EURUSD = Contract(secType="CASH", symbol="EUR", currency="USD")


def built(**spec) -> Order:
    spec = OrderSpec(**{"action": "BUY", "quantity": 10, **spec})
    assert spec_problems(spec) == []
    return order_build(spec)


def test_a_trailing_stop_by_amount_sends_the_amount_as_aux_price():
    order = built(order_type="TRAIL", trail_amount=1.5, tif="GTC")
    assert (order.orderType, order.auxPrice, order.trailingPercent, order.tif) == ("TRAIL", 1.5, UNSET_DOUBLE, "GTC")


def test_a_trailing_stop_by_percent_sends_trailing_percent_and_an_optional_first_stop():
    order = built(action="SELL", order_type="TRAIL", trail_percent=2, stop_price=95)
    assert (order.orderType, order.trailingPercent, order.auxPrice, order.trailStopPrice) == ("TRAIL", 2, UNSET_DOUBLE, 95)


def test_market_and_limit_on_close_are_day_orders_with_the_limit_where_ib_reads_it():
    moc, loc = built(order_type="MOC"), built(order_type="LOC", limit_price=101.5)
    assert (moc.orderType, moc.lmtPrice, moc.tif) == ("MOC", UNSET_DOUBLE, "DAY")
    assert (loc.orderType, loc.lmtPrice, loc.tif) == ("LOC", 101.5, "DAY")


def test_at_the_opening_is_a_market_or_limit_order_with_tif_opg():
    assert (built(tif="OPG").orderType, built(tif="OPG").tif) == ("MKT", "OPG")
    assert spec_problems(OrderSpec(action="BUY", quantity=1, order_type="STP", stop_price=5, tif="OPG")) == [
        ("tif", "tif OPG (at the opening) applies to MKT and LMT orders, not STP")
    ]


def test_stop_and_stop_limit_put_the_stop_in_aux_price_and_outside_rth_is_sent():
    stop_limit = built(order_type="STP LMT", stop_price=105, limit_price=106, outside_rth=True)
    assert (stop_limit.auxPrice, stop_limit.lmtPrice, stop_limit.outsideRth) == (105, 106, True)


def test_a_bracket_is_ibs_shape_children_of_the_entry_in_one_oca_group_only_the_last_transmitting():
    spec = OrderSpec(action="BUY", quantity=10, order_type="LMT", limit_price=100, take_profit=110, stop_loss=95, tif="GTC")
    parent = order_build(spec)
    children = bracket_children(spec, parent)
    parent.orderId = 41
    bracket_link(parent, children)
    take_profit, stop_loss = children
    assert (parent.transmit, take_profit.transmit, stop_loss.transmit) == (False, False, True)
    assert (take_profit.action, take_profit.orderType, take_profit.lmtPrice) == ("SELL", "LMT", 110)
    assert (stop_loss.action, stop_loss.orderType, stop_loss.auxPrice) == ("SELL", "STP", 95)
    assert take_profit.parentId == stop_loss.parentId == 41
    assert take_profit.ocaGroup == stop_loss.ocaGroup == "ibc-bracket-41" and stop_loss.ocaType == 1
    assert take_profit.tif == stop_loss.tif == "GTC" and take_profit.totalQuantity == 10


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"order_type": "LMT"}, "limit_price", "limit_price is required for LMT orders"),
        ({"order_type": "LOC"}, "limit_price", "limit_price is required for LOC orders"),
        ({"order_type": "STP"}, "stop_price", "stop_price is required for STP orders"),
        ({"order_type": "STP LMT", "limit_price": 5}, "stop_price", "stop_price is required for STP LMT orders"),
        ({"order_type": "TRAIL"}, "trail_amount", "TRAIL orders need exactly one of trail_amount or trail_percent"),
        ({"order_type": "TRAIL", "trail_amount": 1, "trail_percent": 1}, "trail_amount", "give trail_amount or trail_percent, not both"),
        ({"order_type": "MOC", "tif": "GTC"}, "tif", "MOC orders are DAY orders (IB executes them at today's close), not GTC"),
        ({"order_type": "MKT", "limit_price": 5}, "limit_price", "limit_price does not apply to MKT orders"),
        ({"take_profit": 110}, "stop_loss", "a bracket needs both take_profit and stop_loss"),
        ({"take_profit": 90, "stop_loss": 110}, "take_profit", "for a BUY bracket the take-profit (90) must be above the stop-loss (110)"),
        ({"order_type": "MOC", "take_profit": 110, "stop_loss": 90}, "order_type", "a bracket's entry must be one of MKT, LMT, STP, STP LMT, not MOC"),
    ],
)  # fmt: skip
def test_an_order_ib_would_not_take_is_described_at_the_field_that_is_wrong(spec, field, message):
    assert spec_problems(OrderSpec(action="BUY", quantity=1, **spec))[0] == (field, message)


def test_a_default_limit_is_the_midpoint_plus_the_offset_for_a_buy_and_minus_for_a_sell_on_ibs_tick():
    assert limit_from_quote(SPY, action="BUY", bid=99.99, ask=100.01, offset_bps=Decimal("10")) == 100.10
    assert limit_from_quote(SPY, action="SELL", bid=99.99, ask=100.01, offset_bps=Decimal("10")) == 99.90
    assert limit_from_quote(SPY, action="BUY", bid=100.00, ask=100.01, offset_bps=Decimal("0")) == 100.01  # never inside
    assert limit_from_quote(EURUSD, action="SELL", bid=1.08, ask=1.0801, offset_bps=Decimal("10")) == 1.07895


def test_with_no_bid_or_ask_a_default_limit_cannot_be_priced():
    with pytest.raises(ValueError, match="no quote for SPY"):
        limit_from_quote(SPY, action="BUY", bid=None, ask=100.01, offset_bps=Decimal("10"))
    assert NO_QUOTE.endswith("not sent at market")


def invalid(intent: str, params: dict) -> list[tuple[str, str]]:
    with pytest.raises(IntentParamsInvalid) as caught:
        params_validate(intent_get(intent), params)
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in caught.value.errors]


@pytest.mark.parametrize(
    ("params", "field", "text"),
    [
        ({"action": "BUY", "order_type": "LMT", "quantity": 1}, "limit_price", "limit_price is required for LMT orders"),
        ({"action": "BUY", "quantity": 1, "notional": 500}, "notional", "give exactly one of quantity, notional or percent"),
        ({"action": "BUY"}, "quantity", "give exactly one of quantity, notional or percent"),
        ({"action": "BUY", "quantity": 0}, "quantity", "greater than 0"),
        ({"action": "BUY", "quantity": "-3"}, "quantity", "greater than 0"),
        ({"action": "BUY", "percent": 120}, "percent", "less than or equal to 100"),
        ({"action": "BUY", "quantity": 1, "order_type": "FOO"}, "order_type", "unknown order type 'FOO'"),
        ({"action": "HOLD", "quantity": 1}, "action", "'BUY' or 'SELL'"),
        ({"action": "BUY", "quantity": 1, "order_type": "STP"}, "stop_price", "stop_price is required for STP orders"),
        ({"action": "BUY", "quantity": 1, "tif": "FOK"}, "tif", "unknown time in force 'FOK'"),
        ({"action": "BUY", "quantity": 1, "strategy": "a b"}, "strategy", "should match pattern"),
    ],
)  # fmt: skip
def test_place_order_names_the_field_of_each_mistake(params, field, text):
    errors = invalid("place_order", {"symbol": "SPY", **params})
    assert any(loc == field and text in msg for loc, msg in errors), errors


def test_place_order_takes_a_tradingview_alert_strings_lower_case_and_camel_case_and_stores_snake_case():
    params = params_validate(
        intent_get("place_order"),
        {"symbol": "aapl", "action": "buy", "quantity": "10", "orderType": "stp lmt", "stopPrice": "189",
         "limitPrice": "190.5", "tif": "gtc", "outsideRth": "true", "takeProfit": "", "strategy": "tv"},
    )  # fmt: skip
    assert params == {
        "symbol": "AAPL", "sec_type": "STK", "currency": "USD", "action": "BUY", "quantity": 10.0, "order_type": "STP LMT",
        "limit_price": 190.5, "stop_price": 189.0, "tif": "GTC", "outside_rth": True, "strategy": "tv",
    }  # fmt: skip


def test_modify_order_needs_something_to_change_and_cancel_order_exactly_one_id():
    assert invalid("modify_order", {"order": 3}) == [("quantity", "give at least one of quantity, limit_price or stop_price")]
    assert params_validate(intent_get("modify_order"), {"order": 3, "limitPrice": "12.5"}) == {"order": 3, "limit_price": 12.5}
    assert "give exactly one of order" in invalid("cancel_order", {"order": 3, "orderId": 7})[0][1]
    assert params_validate(intent_get("cancel_order"), {"order": 3}) == {"order": 3}
