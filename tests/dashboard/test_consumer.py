"""The live socket: login required, a snapshot on connect, the worker's events as deltas."""

from decimal import Decimal

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from tests.dashboard.conftest import ask, db, live_socket, next_event
from trading.config import effective_config
from trading.dashboard.consumers import BAD_FRAME, CLOSE_NOT_AUTHENTICATED, LiveConsumer
from trading.live import channel_batch_message, channel_message, live_event, live_group
from trading.models import AccountValue, ActivityEntry, ActivityKind, Fill, IntentRun, Order, Position
from trading.worker.store import order_upsert

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("redis_url"),
]

SPY = {"con_id": 756733, "symbol": "SPY", "sec_type": "STK", "exchange": "SMART", "currency": "USD", "local_symbol": "SPY"}


def order_snap(**changes):
    snap = {
        **SPY, "client_id": 1, "order_id": 7, "perm_id": 0, "order_ref": "", "account": "DU1", "action": "BUY",
        "total_quantity": "10", "order_type": "LMT", "lmt_price": "400.5", "aux_price": None, "tif": "DAY",
        "status": "Submitted", "filled": "0", "remaining": "10", "avg_fill_price": "0", "last_error": "",
    }  # fmt: skip
    snap.update(changes)
    return snap


@pytest.fixture
def recorded_state(transactional_db, fresh_heartbeat):
    """What a worker would have recorded: an open and a filled order, a fill, a position, account values."""
    order_upsert(mode="paper", snap=order_snap())
    order_upsert(mode="paper", snap=order_snap(order_id=8, status="Filled", filled="10", remaining="0", avg_fill_price="400.25"))
    Order.objects.create(mode="paper", symbol="QQQ", action="BUY", total_quantity=1, status="Planned")  # a dry-run plan
    Fill.objects.create(
        mode="paper",
        exec_id="e1",
        symbol="SPY",
        side="BUY",
        shares=Decimal(10),
        price=Decimal("400.25"),
        executed_at=timezone.now(),
    )
    Position.objects.create(
        mode="paper", account="DU1", quantity=10, avg_cost=400, market_value=Decimal("4010"), unrealized_pnl=Decimal("7.5"), **SPY
    )
    Position.objects.create(mode="live", account="U1", quantity=3, **{**SPY, "con_id": 1})  # another mode's: not shown
    for tag, currency, value in [("NetLiquidation", "USD", "100000"), ("CashBalance", "EUR", "250"), ("Leverage-S", "", "0")]:
        AccountValue.objects.create(mode="paper", account="DU1", tag=tag, currency=currency, value=value)
    IntentRun.objects.create(intent="summary", source="cli", status="succeeded")


async def test_it_closes_an_anonymous_socket_with_4401():
    communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
    communicator.scope["user"] = AnonymousUser()
    connected, _ = await communicator.connect()
    assert connected  # accepted only to say why it is closed: a code the page acts on
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_NOT_AUTHENTICATED}
    await communicator.disconnect()  # the browser hangs up; the consumer ends


async def test_the_snapshot_holds_everything_the_page_shows(bob, recorded_state):
    async with live_socket(bob) as (_, snapshot):
        payload = snapshot["payload"]

    assert snapshot["v"] == 1 and snapshot["mode"] == "paper"
    assert payload["user"] == {"username": "bob", "is_staff": False}
    status = payload["status"]
    assert (status["mode"], status["kill_switch"], status["soft_stop"]) == ("paper", True, False)
    assert status["worker"]["alive"] and status["worker"]["connected"] and status["worker"]["gateway"] == "127.0.0.1:4002"
    assert [(o["order_id"], o["status"]) for o in payload["orders"]] == [(7, "Submitted"), (8, "Filled")]  # open first
    assert payload["orders"][0]["lmt_price"] == "400.500000"
    assert [(p["symbol"], p["quantity"], p["unrealized_pnl"]) for p in payload["positions"]] == [("SPY", "10.0000", "7.50")]
    assert {(v["tag"], v["currency"]) for v in payload["account_values"]} == {("NetLiquidation", "USD"), ("CashBalance", "EUR")}
    assert [f["exec_id"] for f in payload["fills"]] == ["e1"]
    assert [(r["intent"], r["status"]) for r in payload["runs"]] == [("summary", "succeeded")]
    assert {e["payload"]["kind"] for e in payload["activity"]} == {ActivityKind.ORDER}
    assert {"summary", "close_all", "cancel_order"} <= {i["name"] for i in payload["intents"]}
    cancel = next(i for i in payload["intents"] if i["name"] == "cancel_order")
    assert {"order", "orderId"} <= set(cancel["params"]["properties"])  # the row id or IB's id


async def test_a_browser_session_cookie_authenticates_through_the_asgi_app(bob):
    from console.asgi import application

    client = Client()
    await db(client.force_login)(bob)
    headers = [
        (b"origin", b"http://127.0.0.1:8000"),
        (b"host", b"127.0.0.1:8000"),
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
    ]
    async with live_socket(None, application=application, headers=headers) as (_, snapshot):
        assert snapshot["payload"]["user"]["username"] == "bob"


async def test_a_socket_without_a_session_is_closed_through_the_asgi_app():
    from console.asgi import application

    headers = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
    communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_output(timeout=5))["code"] == CLOSE_NOT_AUTHENTICATED
    await communicator.disconnect()


async def test_a_recorded_order_event_reaches_the_browser_as_is(bob):
    async with live_socket(bob) as (communicator, _):
        events = await db(order_upsert)(mode="paper", snap=order_snap(perm_id=555))
        for event in events:
            await get_channel_layer().group_send(live_group(), channel_message(event))

        received = await next_event(communicator, "order.status")
        activity = await next_event(communicator, "activity.new")

    assert received == events[0]
    order = received["payload"]
    assert (order["order_id"], order["status"], order["perm_id"]) == (7, "Submitted", 555)
    assert activity["payload"]["message"].startswith("new order: BUY 10")


async def test_any_worker_event_is_forwarded_unchanged(bob):
    event = live_event(
        "pnl.update", {"account": "DU1", "daily_pnl": "12.5", "unrealized_pnl": "3", "realized_pnl": "9.5"}, mode="paper"
    )
    async with live_socket(bob) as (communicator, _):
        await get_channel_layer().group_send(live_group(), channel_message(event))
        assert await next_event(communicator, "pnl.update") == event


async def test_a_batch_of_worker_events_reaches_the_browser_one_by_one_in_order(bob):
    events = [
        {**live_event("order.status", {"id": n, "status": "Submitted"}, mode="paper"), "seq": n, "epoch": "e"} for n in (1, 2, 3)
    ]
    async with live_socket(bob) as (communicator, _):
        await get_channel_layer().group_send(live_group(), channel_batch_message(events))
        received = [await next_event(communicator, "order.status") for _ in events]
    assert received == events


async def test_status_get_returns_switches_worker_state_and_newer_activity(bob, fresh_heartbeat):
    async with live_socket(bob) as (communicator, snapshot):
        newest = max([e["payload"]["id"] for e in snapshot["payload"]["activity"]], default=0)
        entry = await db(ActivityEntry.objects.create)(kind=ActivityKind.RISK, message="daily loss limit near", mode="paper")
        await communicator.send_json_to({"type": "status.get", "activity_after": newest})
        reply = await next_event(communicator, "status")

    assert reply["payload"]["status"]["worker"]["connected"] is True
    assert [e["payload"]["id"] for e in reply["payload"]["activity"]] == [entry.pk]


async def test_snapshot_get_resyncs_on_request(bob):
    async with live_socket(bob) as (communicator, _):
        await db(order_upsert)(mode="paper", snap=order_snap())
        await communicator.send_json_to({"type": "snapshot.get"})
        snapshot = await next_event(communicator, "snapshot")
    assert [o["order_id"] for o in snapshot["payload"]["orders"]] == [7]


async def closed_with(communicator, *, timeout: float = 5) -> int:
    """The close code the server sends next (events before it skipped)."""
    while True:
        output = await communicator.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return output["code"]


def browser_headers(client: Client) -> list[tuple[bytes, bytes]]:
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    return [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000"), (b"cookie", cookie)]


async def test_logging_out_closes_the_sockets_opened_under_that_session(alice):
    from console.asgi import application

    browser, other_browser = Client(), Client()
    await db(browser.force_login)(alice)
    await db(other_browser.force_login)(alice)
    async with live_socket(None, application=application, headers=browser_headers(browser)) as (communicator, _):
        async with live_socket(None, application=application, headers=browser_headers(other_browser)) as (other, _):
            assert (await db(browser.post)("/dashboard/logout/")).status_code == 302
            assert await closed_with(communicator) == CLOSE_NOT_AUTHENTICATED
            assert (await ask(other, {"type": "switch.set", "switch": "soft_stop", "on": False}))["ok"] is True


def end_by_deleting_the_session(user, session):
    session.delete()  # a logout whose close message was lost, an expired or flushed session


def end_by_deactivating_the_user(user, session):
    type(user).objects.filter(pk=user.pk).update(is_active=False)


def end_by_changing_the_password(user, session):
    user.set_password("a-new-password-2")
    user.save()


@pytest.mark.parametrize("end", [end_by_deleting_the_session, end_by_deactivating_the_user, end_by_changing_the_password])
async def test_a_socket_whose_session_has_ended_refuses_a_switch_with_4401(alice, end):
    async with live_socket(alice) as (communicator, _):
        await db(end)(alice, communicator.scope["session"])
        await communicator.send_json_to({"type": "switch.set", "switch": "soft_stop", "on": True, "request_id": "r1"})
        assert await closed_with(communicator) == CLOSE_NOT_AUTHENTICATED
    assert (await db(effective_config)()).soft_stop is False


NESTED_5000 = '{"type": "status.get", "deep": ' + "[" * 5000 + "]" * 5000 + "}"
NESTED_100 = '{"type": "intent.run", "intent": "summary", "params": {"x": ' + "[" * 100 + "]" * 100 + "}}"


@pytest.mark.parametrize(
    "frame",
    ["not json", "{'type': 'snapshot.get'}", NESTED_5000, NESTED_100, "[1, 2]", '"status.get"', "x" * 100_000, b"\x00\xff"],
    ids=["text", "python-repr", "nested-5000", "nested-100", "a-list", "a-string", "100k-chars", "binary"],
)
async def test_a_bad_frame_is_answered_with_an_error_and_the_socket_stays_open(bob, frame, caplog):
    async with live_socket(bob) as (communicator, _):
        if isinstance(frame, bytes):
            await communicator.send_to(bytes_data=frame)
        else:
            await communicator.send_to(text_data=frame)
        reply = await next_event(communicator, "action.result")
        assert (reply["payload"]["ok"], reply["payload"]["error"]) == (False, BAD_FRAME)
        await communicator.send_json_to({"type": "snapshot.get"})
        assert (await next_event(communicator, "snapshot"))["type"] == "snapshot"
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


@pytest.mark.parametrize("after", [10**30, "7"])
async def test_a_status_request_with_an_unusable_activity_cursor_still_gets_the_status(bob, after, caplog):
    async with live_socket(bob) as (communicator, _):
        await communicator.send_json_to({"type": "status.get", "activity_after": after})
        reply = await next_event(communicator, "status")
    assert reply["payload"]["activity"] == []
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
