"""Summary, orders, fills, positions, activity: read from what the worker recorded, never from IB."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api.factories import account_value_make, fill_make, order_make, position_make, run_make
from trading.activity import activity_record
from trading.clock import local_today
from trading.config import config_update
from trading.models import ActivityKind, ConfigScope, OrderStatus
from trading.worker.store import fill_event, order_event, position_event

pytestmark = pytest.mark.django_db


def test_the_summary_is_the_latest_recorded_state(bob_api, live_worker):
    account_value_make(tag="NetLiquidation", value="101000.50")
    account_value_make(tag="AvailableFunds", value="90000")
    position_make(symbol="SPY", quantity="10", market_value="4502.50")
    position_make(symbol="QQQ", quantity="0")
    working = order_make(symbol="SPY", status=OrderStatus.SUBMITTED)
    order_make(symbol="SPY", status=OrderStatus.FILLED)
    today = fill_make(symbol="SPY")
    fill_make(symbol="SPY", executed_at=timezone.now() - timedelta(days=2))
    position_make(symbol="AAPL", mode="live")
    body = bob_api.get("/api/summary").json()
    assert body["mode"] == "paper" and body["accounts"] == ["DU123"] and body["as_of"] is not None
    assert {(v["tag"], v["value"]) for v in body["account_values"]} == {
        ("NetLiquidation", "101000.50"),
        ("AvailableFunds", "90000"),
    }
    assert [p["symbol"] for p in body["positions"]] == ["SPY"]
    assert [o["id"] for o in body["open_orders"]] == [working.pk]
    assert [f["id"] for f in body["fills_today"]] == [today.pk]
    assert body["worker_connected"] is True


def test_the_summary_follows_the_active_mode_or_the_one_asked(bob_api):
    position_make(symbol="AAPL", mode="live")
    assert bob_api.get("/api/summary").json()["positions"] == []
    assert [p["symbol"] for p in bob_api.get("/api/summary?mode=live").json()["positions"]] == ["AAPL"]
    config_update(scope=ConfigScope.COMMON, changes={"active_mode": "live"})
    assert [p["symbol"] for p in bob_api.get("/api/summary").json()["positions"]] == ["AAPL"]


def test_records_have_the_live_event_payload_keys(bob_api):
    order, fill, position = order_make(), fill_make(), position_make()
    assert set(order_event(order)) <= set(bob_api.get("/api/orders").json()["items"][0])
    assert set(fill_event(fill)) <= set(bob_api.get("/api/fills").json()["items"][0])
    assert set(position_event(position)) <= set(bob_api.get("/api/positions").json()[0])


def test_orders_filter_by_status_strategy_symbol_and_day(bob_api):
    open_spy = order_make(symbol="SPY", strategy="macd", status=OrderStatus.SUBMITTED)
    filled_qqq = order_make(symbol="QQQ", strategy="macd", status=OrderStatus.FILLED)
    old = order_make(symbol="SPY", status=OrderStatus.CANCELLED, created_at=timezone.now() - timedelta(days=3))

    def ids(query):
        response = bob_api.get(f"/api/orders?{query}")
        assert response.status_code == 200, response.json()
        return [o["id"] for o in response.json()["items"]]

    assert ids("status=open") == [open_spy.pk]
    assert ids("status=done") == [filled_qqq.pk, old.pk]
    assert ids("status=Filled") == [filled_qqq.pk]
    assert ids("strategy=macd") == [filled_qqq.pk, open_spy.pk]
    assert ids("symbol=spy") == [open_spy.pk, old.pk]
    assert ids(f"day={local_today().isoformat()}") == [filled_qqq.pk, open_spy.pk]


def test_orders_of_a_run_and_the_decimals_as_strings(bob_api):
    run = run_make(intent="close_all")
    order = order_make(run=run, total_quantity="12.5", lmt_price="450.10", order_type="LMT")
    item = bob_api.get(f"/api/orders?run_id={run.pk}").json()["items"][0]
    assert item["id"] == order.pk and item["run_id"] == run.pk
    assert (item["total_quantity"], item["lmt_price"]) == ("12.5000", "450.100000")


def test_fills_filter_by_strategy_symbol_and_time(bob_api):
    recent = fill_make(symbol="SPY", strategy="macd")
    fill_make(symbol="QQQ", strategy="other")
    fill_make(symbol="SPY", strategy="macd", executed_at=timezone.now() - timedelta(days=5))
    page = bob_api.get("/api/fills", {"strategy": "macd", "since": (timezone.now() - timedelta(hours=1)).isoformat()}).json()
    assert page["count"] == 1 and page["items"][0]["id"] == recent.pk and page["items"][0]["price"] == "450.250000"


def test_positions_leave_out_flat_ones_and_filter_by_symbol(bob_api):
    position_make(symbol="SPY", quantity="-5")
    position_make(symbol="QQQ", quantity="0")
    assert [p["symbol"] for p in bob_api.get("/api/positions").json()] == ["SPY"]
    assert bob_api.get("/api/positions?symbol=QQQ").json() == []


def test_activity_is_paginated_and_filtered_by_kind_and_strategy(bob_api, alice):
    for i in range(3):
        activity_record(kind=ActivityKind.ORDER, message=f"order {i}", strategy="macd", mode="paper")
    activity_record(kind=ActivityKind.CONFIG_CHANGE, message="kill switch off", actor=alice)
    page = bob_api.get("/api/activity?kind=order&limit=2").json()
    assert page["count"] == 3 and [e["message"] for e in page["items"]] == ["order 2", "order 1"]
    config = bob_api.get("/api/activity?kind=config_change").json()["items"][0]
    assert config["actor"] == "alice" and config["mode"] == ""
    assert bob_api.get("/api/activity?strategy=macd&mode=paper").json()["count"] == 3
    assert bob_api.get("/api/activity?kind=nonsense").status_code == 422


def test_orders_and_fills_filter_by_account_and_connection_and_show_them(bob_api):
    # Two gateways, each with a client 1 handing out order id 7: two rows, told apart by their connection.
    du1 = order_make(account="DU1", client_id=1, order_id=7, perm_id=70)
    du2 = order_make(account="DU2", client_id=1, order_id=7, perm_id=70, connection="desk2")
    fill_make(account="DU1", order=du1)
    desk2_fill = fill_make(account="DU2", order=du2, connection="desk2")

    def ids(url: str) -> list[int]:
        return [item["id"] for item in bob_api.get(url).json()["items"]]

    assert ids("/api/orders?connection=desk2") == [du2.pk]
    assert ids("/api/orders?account=DU1") == [du1.pk]
    assert ids("/api/orders?account=DU1&connection=desk2") == []
    assert ids("/api/fills?connection=desk2") == [desk2_fill.pk] == ids("/api/fills?account=DU2")
    shown = {item["id"]: item["connection"] for item in bob_api.get("/api/orders").json()["items"]}
    assert shown == {du1.pk: "default", du2.pk: "desk2"}
    assert bob_api.get("/api/fills?connection=desk2").json()["items"][0]["connection"] == "desk2"
    csv = b"".join(bob_api.get("/api/orders?format=csv&connection=desk2").streaming_content).decode().splitlines()
    assert csv[0].startswith("id,created_at") and ",DU2,desk2," in csv[1] and len(csv) == 2
    assert bob_api.get("/api/orders?connection=bad name").status_code == 422


def test_positions_filter_by_connection_and_activity_by_account_and_connection(bob_api):
    position_make(account="DU1", symbol="SPY")
    position_make(account="DU2", symbol="SPY", connection="desk2")
    activity_record(kind=ActivityKind.FILL, message="fill at desk2", mode="paper", connection="desk2", account="DU2")
    activity_record(kind=ActivityKind.FILL, message="fill at default", mode="paper", account="DU1")
    activity_record(kind=ActivityKind.CONFIG_CHANGE, message="kill switch off")

    positions = bob_api.get("/api/positions?connection=desk2").json()
    assert [(p["account"], p["connection"]) for p in positions] == [("DU2", "desk2")]
    assert [e["message"] for e in bob_api.get("/api/activity?connection=desk2").json()["items"]] == ["fill at desk2"]
    [entry] = bob_api.get("/api/activity?account=DU1").json()["items"]
    assert (entry["message"], entry["connection"], entry["account"]) == ("fill at default", "default", "DU1")
    console_wide = bob_api.get("/api/activity?kind=config_change").json()["items"][0]
    assert (console_wide["connection"], console_wide["account"]) == ("default", "")
