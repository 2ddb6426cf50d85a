"""The dashboard's account view: one account's snapshot, digest and pushes, or all accounts summed.

A desk with several IB accounts (issue #17) sees them all on one page, or picks one: the snapshot,
the status poll's digest and the pushes the page keeps are then that account's only.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.dashboard.conftest import ask, db, live_socket, next_event
from trading.dashboard.consumers import UNKNOWN_ACCOUNT
from trading.dashboard.selectors import equity_today
from trading.models import AccountValue, EquitySnapshot, Fill, IBConnection, Order, Position
from trading.selectors import pnl_latest

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("redis_url"),
]

SPY = {"con_id": 756733, "symbol": "SPY", "sec_type": "STK", "exchange": "SMART", "currency": "USD", "local_symbol": "SPY"}


@pytest.fixture
def two_accounts(transactional_db, fresh_heartbeat):
    """What two workers recorded: each account an open order, a fill, a position, account values, P&L."""
    for n, account in enumerate(["DU1", "DU2"], start=1):
        Order.objects.create(
            mode="paper", account=account, symbol="SPY", action="BUY", total_quantity=n, status="Submitted", order_id=n
        )
        Fill.objects.create(
            mode="paper", account=account, exec_id=f"e{n}", symbol="SPY", side="BUY", shares=Decimal(n),
            price=Decimal("400"), executed_at=timezone.now() - timedelta(seconds=10 - n),
        )  # fmt: skip
        Position.objects.create(mode="paper", account=account, quantity=10 * n, avg_cost=400, **SPY)
        for tag, currency, value in [("NetLiquidation", "USD", 100000 * n), ("PnL.Daily", "BASE", 10 * n)]:
            AccountValue.objects.create(mode="paper", account=account, tag=tag, currency=currency, value=str(value))
    Position.objects.create(mode="live", account="U9", quantity=3, **{**SPY, "con_id": 1})  # another mode's


def accounts_of(payload: dict, key: str) -> set[str]:
    return {row["account"] for row in payload[key]}


@pytest.mark.asyncio
async def test_all_accounts_is_the_default_and_names_every_account(bob, two_accounts):
    async with live_socket(bob) as (_, snapshot):
        payload = snapshot["payload"]
    assert (payload["account"], payload["accounts"]) == ("", ["DU1", "DU2"])
    for key in ("orders", "positions", "account_values", "fills", "pnl_accounts"):
        assert accounts_of(payload, key) == {"DU1", "DU2"}, key
    assert payload["pnl"] is None  # several accounts: the page sums `pnl_accounts`


@pytest.mark.asyncio
async def test_choosing_an_account_gives_its_snapshot_and_its_digest_only(bob, two_accounts):
    async with live_socket(bob) as (communicator, _):
        await communicator.send_json_to({"type": "snapshot.get", "account": "DU2"})
        payload = (await next_event(communicator, "snapshot"))["payload"]
        assert (payload["account"], payload["accounts"]) == ("DU2", ["DU1", "DU2"])
        for key in ("orders", "positions", "account_values", "fills", "pnl_accounts"):
            assert accounts_of(payload, key) == {"DU2"}, key
        assert payload["pnl"]["daily_pnl"] == "20"

        # The status poll's digest is the shown account's: DU1's open order is not "missing" from the page.
        await communicator.send_json_to({"type": "status.get", "activity_after": 0})
        digest = (await next_event(communicator, "status"))["payload"]["digest"]
        du2_order = await db(lambda: Order.objects.get(account="DU2").pk)()
        du2_fill = await db(lambda: Fill.objects.get(account="DU2").pk)()
        assert digest["orders"] == {str(du2_order): "Submitted"}
        assert digest["fill"] == du2_fill

        # A resync (no `account`) stays on the account shown; "" goes back to all of them.
        await communicator.send_json_to({"type": "snapshot.get"})
        assert (await next_event(communicator, "snapshot"))["payload"]["account"] == "DU2"
        await communicator.send_json_to({"type": "snapshot.get", "account": ""})
        assert accounts_of((await next_event(communicator, "snapshot"))["payload"], "positions") == {"DU1", "DU2"}


@pytest.mark.asyncio
async def test_an_unknown_account_is_refused_naming_the_known_ones_and_the_view_stays(bob, two_accounts):
    async with live_socket(bob) as (communicator, _):
        refused = await ask(communicator, {"type": "snapshot.get", "account": "U9", "request_id": "r1"})
        assert not refused["ok"] and refused["error"] == UNKNOWN_ACCOUNT
        assert refused["message"] == "unknown account 'U9': this mode's accounts are DU1, DU2"  # U9 is live's
        for bad in (7, "X" * 33, None):
            refused = await ask(communicator, {"type": "snapshot.get", "account": bad})
            assert not refused["ok"] and refused["error"] == UNKNOWN_ACCOUNT, bad
        await communicator.send_json_to({"type": "snapshot.get"})
        assert (await next_event(communicator, "snapshot"))["payload"]["account"] == ""


@pytest.mark.asyncio
async def test_a_reconnect_keeps_the_account_in_its_url_and_a_stale_one_shows_all(bob, two_accounts):
    async with live_socket(bob, path="/ws/live/?account=DU1") as (_, snapshot):
        assert snapshot["payload"]["account"] == "DU1"
        assert accounts_of(snapshot["payload"], "positions") == {"DU1"}
    async with live_socket(bob, path="/ws/live/?account=GONE") as (_, snapshot):
        assert snapshot["payload"]["account"] == ""
        assert accounts_of(snapshot["payload"], "positions") == {"DU1", "DU2"}


def test_the_accounts_offered_include_an_enabled_connections_own(two_accounts):
    from trading.selectors import accounts_known

    IBConnection.objects.create(name="desk3", port=4010, client_id=1, mode="paper", accounts=["DU3"])
    IBConnection.objects.create(name="old", port=4011, client_id=1, mode="paper", accounts=["DU4"], enabled=False)
    IBConnection.objects.create(name="real", host="10.0.0.1", port=4001, client_id=1, mode="live", accounts=["U5"])
    assert accounts_known(mode="paper") == ["DU1", "DU2", "DU3"]
    assert accounts_known(mode="live") == ["U5", "U9"]


def test_pnl_of_all_accounts_is_their_sum_and_of_one_is_its_own(two_accounts):
    total = pnl_latest(mode="paper")
    assert (total["account"], total["accounts"], total["daily_pnl"]) == ("", ["DU1", "DU2"], "30")
    assert total["unrealized_pnl"] is None  # no account reported one
    assert pnl_latest(mode="paper", account="DU1")["daily_pnl"] == "10"


def test_the_intraday_line_of_all_accounts_sums_each_accounts_latest_snapshot(transactional_db):
    start = timezone.now() - timedelta(minutes=5)
    for minute, account, net, pnl in [(0, "DU1", 100, 1), (1, "DU2", 50, 2), (2, "DU1", 110, 3), (3, "DU2", 40, None)]:
        EquitySnapshot.objects.create(
            mode="paper", account=account, taken_at=start + timedelta(minutes=minute), net_liquidation=Decimal(net),
            daily_pnl=None if pnl is None else Decimal(pnl), currency="USD", reason="minute",
        )  # fmt: skip
    assert [p[1:] for p in equity_today(mode="paper")["points"]] == [[100, 1], [150, 3], [160, 5], [150, 3]]
    assert [p[1:] for p in equity_today(mode="paper", account="DU2")["points"]] == [[50, 2], [40, None]]
