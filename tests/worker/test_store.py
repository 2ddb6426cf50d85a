"""Recording IB events: idempotent upserts, fills exactly once, holdings attributed by orderRef."""

from decimal import Decimal

import pytest

from trading.models import ActivityEntry, ActivityKind, Fill, Holding, IntentRun, Order, Position
from trading.orderref import order_ref_build
from trading.selectors import holding_quantities
from trading.worker.positions import PositionLedger, position_observe, position_verify
from trading.worker.store import commission_record, fill_record, order_upsert

pytestmark = pytest.mark.django_db

SPY = {"con_id": 756733, "symbol": "SPY", "sec_type": "STK", "exchange": "SMART", "currency": "USD", "local_symbol": "SPY"}


def order_snap(**changes):
    snap = {
        **SPY, "client_id": 1, "order_id": 7, "perm_id": 0, "order_ref": "", "account": "DU1", "action": "BUY",
        "total_quantity": "10", "order_type": "LMT", "lmt_price": "400.5", "aux_price": None, "tif": "DAY",
        "status": "Submitted", "filled": "0", "remaining": "10", "avg_fill_price": "0", "last_error": "",
    }  # fmt: skip
    snap.update(changes)
    return snap


def fill_snap(**changes):
    snap = {
        **SPY, "exec_id": "0001.01", "account": "DU1", "ib_order_id": 7, "client_id": 1, "perm_id": 555,
        "order_ref": "", "side": "BUY", "shares": "10", "price": "400.25", "executed_at": "2026-11-20T15:30:00+00:00",
        "commission": None, "commission_currency": "", "realized_pnl": None,
    }  # fmt: skip
    snap.update(changes)
    return snap


def test_an_order_is_mirrored_once_and_follows_ibs_status():
    order_upsert(mode="paper", snap=order_snap())
    order_upsert(mode="paper", snap=order_snap(perm_id=555, status="Submitted"))
    events = order_upsert(
        mode="paper", snap=order_snap(perm_id=555, status="Filled", filled="10", remaining="0", avg_fill_price="400.25")
    )
    order = Order.objects.get()
    assert (order.status, order.perm_id, order.filled, order.avg_fill_price) == ("Filled", 555, 10, Decimal("400.25"))
    assert [e["type"] for e in events] == ["order.status", "activity.new"]
    assert ActivityEntry.objects.filter(kind=ActivityKind.ORDER).count() == 2  # new order, filled


def test_an_order_tagged_by_the_console_is_linked_to_its_run_and_strategy():
    run = IntentRun.objects.create(intent="allocation", source="cli")
    order_upsert(mode="paper", snap=order_snap(order_ref=order_ref_build(owner="spy_macd_vixy", run_id=run.pk)))
    order = Order.objects.get()
    assert order.run == run and order.strategy == "spy_macd_vixy"


def test_a_fill_is_stored_exactly_once_and_its_commission_filled_in_later():
    _, new = fill_record(mode="paper", snap=fill_snap())
    _, again = fill_record(mode="paper", snap=fill_snap())
    commission_record(
        mode="paper", snap={"exec_id": "0001.01", "commission": "1.0", "commission_currency": "USD", "realized_pnl": "0"}
    )
    assert (new, again) == (True, False)
    fill = Fill.objects.get()
    assert fill.commission == Decimal("1.0") and fill.side == "BUY"


def test_strategy_holdings_follow_attributed_fills_with_average_cost():
    ref = order_ref_build(owner="testsignalgenerator", run_id=1)
    fill_record(mode="paper", snap=fill_snap(exec_id="a", order_ref=ref, shares="10", price="100"))
    fill_record(mode="paper", snap=fill_snap(exec_id="b", order_ref=ref, shares="10", price="110"))
    fill_record(mode="paper", snap=fill_snap(exec_id="c", order_ref=ref, side="SELL", shares="5", price="120"))
    holding = Holding.objects.get(strategy="testsignalgenerator")
    assert holding.quantity == 15 and holding.avg_cost == Decimal("105")
    fill_record(mode="paper", snap=fill_snap(exec_id="d", order_ref=ref, side="SELL", shares="20", price="90"))
    holding.refresh_from_db()
    assert holding.quantity == -5 and holding.avg_cost == Decimal("90")  # flipped: the new leg's price
    fill_record(mode="paper", snap=fill_snap(exec_id="e", order_ref="", shares="1"))
    assert Holding.objects.count() == 1  # foreign fills are not a strategy's


def position(quantity):
    return {**SPY, "account": "DU1", "quantity": str(quantity), "avg_cost": "400"}


def test_a_position_change_explained_by_our_fill_is_not_external():
    ledger = PositionLedger(client_id=1)
    position_observe(mode="paper", snap=position(10), ledger=ledger)
    ledger.suspects.clear()  # the first sighting: baseline
    ledger.fill_seen(fill_snap(shares="5"))
    _, suspect = position_observe(mode="paper", snap=position(15), ledger=ledger)
    assert suspect is False
    assert Position.objects.get().quantity == 15


def test_a_position_reported_before_its_fill_is_explained_within_the_grace_period():
    ledger = PositionLedger(client_id=1)
    _, suspect = position_observe(mode="paper", snap=position(5), ledger=ledger)
    assert suspect is True
    ledger.fill_seen(fill_snap(shares="5"))
    assert position_verify(mode="paper", key=("DU1", 756733), ledger=ledger) == []
    assert not ActivityEntry.objects.filter(kind=ActivityKind.EXTERNAL_POSITION_CHANGE).exists()


def test_a_position_change_with_no_fill_of_ours_is_recorded_as_external():
    ledger = PositionLedger(client_id=1)
    position_observe(mode="paper", snap=position(5), ledger=ledger)
    ledger.fill_seen(fill_snap(shares="3", client_id=9))  # someone else's fill (TWS), not ours
    events = position_verify(mode="paper", key=("DU1", 756733), ledger=ledger)
    entry = ActivityEntry.objects.get(kind=ActivityKind.EXTERNAL_POSITION_CHANGE)
    assert entry.payload["delta"] == "5" and entry.payload["symbol"] == "SPY"
    assert "position.external_change" in [e["type"] for e in events]


def test_a_flat_position_row_is_removed():
    ledger = PositionLedger(client_id=1)
    position_observe(mode="paper", snap=position(5), ledger=ledger)
    position_observe(mode="paper", snap=position(0), ledger=ledger)
    assert not Position.objects.exists()


def test_the_same_ib_order_id_on_two_connections_is_two_rows_each_with_its_own_fill():
    # Two gateways, each with a client 1: IB's order id 7 (and permId 555) of one is not the other's.
    order_upsert(mode="paper", snap=order_snap(perm_id=555))
    order_upsert(mode="paper", snap=order_snap(perm_id=555, account="DU2"), connection="desk2")
    fill_record(mode="paper", snap=fill_snap(exec_id="one"))
    fill_record(mode="paper", snap=fill_snap(exec_id="two", account="DU2", shares="4"), connection="desk2")

    rows = {row.connection: row for row in Order.objects.all()}
    assert set(rows) == {"default", "desk2"} and rows["desk2"].account == "DU2"
    assert {(f.connection, f.order_id, int(f.shares)) for f in Fill.objects.all()} == {
        ("default", rows["default"].pk, 10), ("desk2", rows["desk2"].pk, 4),
    }  # fmt: skip
    entries = ActivityEntry.objects.filter(kind=ActivityKind.FILL)
    assert {(e.connection, e.account) for e in entries} == {("default", "DU1"), ("desk2", "DU2")}


def test_holdings_are_kept_per_account_and_counted_per_account():
    ref = order_ref_build(owner="swing", run_id=1)
    fill_record(mode="paper", snap=fill_snap(exec_id="a", order_ref=ref, shares="10"))
    fill_record(mode="paper", snap=fill_snap(exec_id="b", order_ref=ref, shares="3", account="DU2"), connection="desk2")
    # a holding recorded before holdings were per account (no account): it counts for every account
    Holding.objects.create(mode="paper", strategy="swing", con_id=SPY["con_id"], symbol="SPY", quantity=1)

    assert {(h.connection, h.account, int(h.quantity)) for h in Holding.objects.filter(strategy="swing")} == {
        ("default", "DU1", 10), ("desk2", "DU2", 3), ("default", "", 1),
    }  # fmt: skip
    spy = SPY["con_id"]
    assert holding_quantities(mode="paper", account="DU1") == {"swing": {spy: Decimal(11)}}
    assert holding_quantities(mode="paper", account="DU2") == {"swing": {spy: Decimal(4)}}
    assert holding_quantities(mode="paper") == {"swing": {spy: Decimal(14)}}
    assert holding_quantities(mode="paper", account="DU2", strategies=["other"]) == {}
