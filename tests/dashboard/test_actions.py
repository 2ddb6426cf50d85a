"""The dashboard's buttons, enforced on the server: run an intent, cancel an order, flip the switches."""

import pytest

from tests.dashboard.conftest import ask, db, live_socket, next_event
from trading.config import config_update, effective_config
from trading.dashboard import actions
from trading.intents.runs import ORDER_OTHER_MODE, WORKER_DOWN
from trading.models import ActivityEntry, ActivityKind, ConfigScope, IBConnection, IntentRun, Order, RunSource, RunStatus

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("redis_url"),
]


def open_order(**fields) -> Order:
    values = {"mode": "paper", "symbol": "SPY", "action": "BUY", "total_quantity": 10, "order_type": "LMT", "lmt_price": 1,
              "status": "Submitted", "client_id": 1, "order_id": 42, "perm_id": 9001}  # fmt: skip
    values.update(fields)
    return Order.objects.create(**values)


@pytest.fixture
def live_mode(transactional_db):
    config_update(scope=ConfigScope.COMMON, changes={"active_mode": "live"})


# ----- running intents --------------------------------------------------------------------------------


async def test_an_intent_run_is_refused_with_a_clear_message_while_the_worker_heartbeat_is_stale(bob, stale_heartbeat):
    async with live_socket(bob) as (communicator, _):
        result = await ask(communicator, {"type": "intent.run", "intent": "summary", "request_id": "r1"})

    assert (result["ok"], result["error"], result["request_id"]) == (False, "worker_unavailable", "r1")
    assert result["message"].startswith(WORKER_DOWN.split("(")[0]) and "no heartbeat for" in result["message"]
    assert not await db(IntentRun.objects.exists)()


async def test_an_intent_run_is_accepted_with_a_fresh_heartbeat_and_broadcast(bob, fresh_heartbeat):
    async with live_socket(bob) as (communicator, _):
        result = await ask(communicator, {"type": "intent.run", "intent": "close_all", "params": {}, "request_id": "r2"})
        update = await next_event(communicator, "run.update")
        activity = await next_event(communicator, "activity.new")

    run = await db(IntentRun.objects.select_related("requested_by").get)()
    assert result["ok"] and result["created"] and result["run"]["id"] == run.pk
    assert result["message"] == f"run #{run.pk} close_all (dry run) queued"
    assert (run.intent, run.source, run.requested_by.username, run.dry_run) == ("close_all", RunSource.DASHBOARD, "bob", True)
    assert (update["payload"]["id"], update["payload"]["status"]) == (run.pk, RunStatus.QUEUED)
    assert activity["payload"]["message"] == f"run #{run.pk} close_all (dry run) queued from dashboard"


async def test_the_run_form_is_a_dry_run_unless_the_page_says_otherwise(bob, fresh_heartbeat):
    async with live_socket(bob) as (communicator, _):
        dry = await ask(communicator, {"type": "intent.run", "intent": "summary"})
        real = await ask(communicator, {"type": "intent.run", "intent": "summary", "dry_run": False})
    runs = {run.pk: run.dry_run for run in await db(list)(IntentRun.objects.all())}
    assert runs == {dry["run"]["id"]: True, real["run"]["id"]: False}


async def test_a_resent_request_returns_the_same_run_never_a_second_one(bob, fresh_heartbeat):
    message = {"type": "intent.run", "intent": "summary", "request_id": "same-click"}
    async with live_socket(bob) as (communicator, _):
        first = await ask(communicator, message)
    async with live_socket(bob) as (communicator, _):  # the page reconnected and resent its pending action
        again = await ask(communicator, message)

    assert first["run"]["id"] == again["run"]["id"] and (first["created"], again["created"]) == (True, False)
    assert "already submitted" in again["message"]
    assert await db(IntentRun.objects.count)() == 1


async def test_bad_parameters_are_refused_naming_the_field(bob, fresh_heartbeat):
    async with live_socket(bob) as (communicator, _):
        result = await ask(communicator, {"type": "intent.run", "intent": "cancel_order", "params": {"orderId": "many"}})

    assert (result["ok"], result["error"]) == (False, "params_invalid")
    assert result["message"].startswith("bad parameters for cancel_order: orderId:")
    assert result["details"][0]["loc"] == ["orderId"]
    assert not await db(IntentRun.objects.exists)()


async def test_an_unknown_intent_is_refused(bob, fresh_heartbeat):
    async with live_socket(bob) as (communicator, _):
        result = await ask(communicator, {"type": "intent.run", "intent": "make_money"})
    assert (result["ok"], result["error"]) == (False, "intent_unknown")
    assert "unknown intent 'make_money'" in result["message"] and "close_all" in result["message"]


async def test_a_real_run_in_live_mode_needs_confirmation(bob, fresh_heartbeat, live_mode):
    async with live_socket(bob) as (communicator, snapshot):
        assert snapshot["payload"]["status"]["mode"] == "live"
        unconfirmed = await ask(communicator, {"type": "intent.run", "intent": "summary", "dry_run": False})
        dry = await ask(communicator, {"type": "intent.run", "intent": "summary", "dry_run": True})
        confirmed = await ask(communicator, {"type": "intent.run", "intent": "summary", "dry_run": False, "confirmed": True})

    assert (unconfirmed["ok"], unconfirmed["error"]) == (False, "confirmation_required")
    assert unconfirmed["message"] == actions.CONFIRM_LIVE
    assert dry["ok"] and confirmed["ok"]
    assert await db(IntentRun.objects.count)() == 2


# ----- cancelling orders --------------------------------------------------------------------------------


async def test_cancel_submits_the_cancel_order_intent_with_the_ib_order_id(bob, fresh_heartbeat):
    order = await db(open_order)()
    async with live_socket(bob) as (communicator, _):
        result = await ask(communicator, {"type": "order.cancel", "order": order.pk, "request_id": "c1"})

    run = await db(IntentRun.objects.get)()
    assert result["ok"] and result["run"]["id"] == run.pk
    assert (run.intent, run.params, run.dry_run, run.source) == ("cancel_order", {"orderId": 42}, False, RunSource.DASHBOARD)


async def test_cancelling_a_finished_order_is_refused(bob, fresh_heartbeat):
    order = await db(open_order)(status="Filled")
    async with live_socket(bob) as (communicator, _):
        result = await ask(communicator, {"type": "order.cancel", "order": order.pk})
    assert (result["ok"], result["error"]) == (False, "order_not_open")
    assert result["message"] == f"order #{order.pk} (SPY) is Filled: there is nothing to cancel"
    assert not await db(IntentRun.objects.exists)()


async def test_cancel_reaches_an_order_of_its_own_connections_mode_whatever_the_console_shows(bob, fresh_heartbeat):
    # The default connection trades live; the console shows paper (the default view only).
    await db(IBConnection.objects.update_or_create)(name="default", defaults={"port": 4001, "client_id": 1, "mode": "live"})
    live, paper = await db(open_order)(mode="live"), await db(open_order)(order_id=43, perm_id=9002)
    async with live_socket(bob) as (communicator, _):
        sent = await ask(communicator, {"type": "order.cancel", "order": live.pk, "request_id": "c1"})
        refused = await ask(communicator, {"type": "order.cancel", "order": paper.pk, "request_id": "c2"})

    assert sent["ok"], sent
    assert (refused["ok"], refused["error"]) == (False, "order_not_open")
    assert refused["message"] == ORDER_OTHER_MODE.format(pk=paper.pk, mode="paper", connection="default", other="live")
    runs = await db(lambda: list(IntentRun.objects.values_list("intent", "params", "mode")))()
    assert runs == [("cancel_order", {"orderId": 42}, "live")], "the paper order's id never goes to the live gateway"


async def test_cancel_is_refused_while_the_worker_is_down(bob, stale_heartbeat):
    order = await db(open_order)()
    async with live_socket(bob) as (communicator, _):
        result = await ask(communicator, {"type": "order.cancel", "order": order.pk})
    assert (result["ok"], result["error"]) == (False, "worker_unavailable")


# ----- switches -----------------------------------------------------------------------------------------


async def test_a_non_staff_user_cannot_flip_the_kill_switch(bob):
    async with live_socket(bob) as (communicator, _):
        result = await ask(communicator, {"type": "switch.set", "switch": "kill_switch", "on": False})

    assert (result["ok"], result["error"], result["message"]) == (False, "permission_denied", actions.STAFF_ONLY)
    assert (await db(effective_config)()).trading_enabled is False  # still killed
    assert not await db(ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE).exists)()


async def test_staff_releases_the_kill_switch_and_every_dashboard_sees_it(alice, bob):
    async with live_socket(bob) as (watcher, _), live_socket(alice) as (communicator, _):
        result = await ask(communicator, {"type": "switch.set", "switch": "kill_switch", "on": False})
        seen = await next_event(watcher, "config.update")
        logged = await next_event(watcher, "activity.new")

    assert result["ok"] and result["message"] == (
        "the kill switch is now off (common settings); trading is on in paper mode (no kill switch, no soft stop)"
    )
    assert (await db(effective_config)()).trading_enabled is True
    payload = seen["payload"]
    assert (payload["kill_switch"], payload["trading_enabled"], payload["kill_switch_by"]) == (False, True, [])
    entry = await db(ActivityEntry.objects.select_related("actor").get)(kind=ActivityKind.CONFIG_CHANGE)
    assert entry.actor.username == "alice" and entry.payload["source"] == "dashboard"
    assert logged["payload"]["id"] == entry.pk


async def test_on_writes_the_common_row_so_it_stops_trading_even_when_the_mode_row_allows_it(alice, bob):
    await db(config_update)(scope=ConfigScope.COMMON, changes={"trading_enabled": True})
    await db(config_update)(scope=ConfigScope.PAPER, changes={"trading_enabled": True})
    async with live_socket(bob) as (watcher, _), live_socket(alice) as (communicator, _):
        result = await ask(communicator, {"type": "switch.set", "switch": "kill_switch", "on": True})
        seen = await next_event(watcher, "config.update")

    assert result["ok"] and result["message"].startswith("the kill switch is now on (common settings)")
    config = await db(effective_config)()
    assert (config.trading_enabled, config.kill_switch_by) == (False, ["common"])
    assert (seen["payload"]["kill_switch"], seen["payload"]["kill_switch_by"]) == (True, ["common"])


async def test_off_releases_every_row_that_holds_the_stop_for_the_active_mode(alice):
    await db(config_update)(scope=ConfigScope.PAPER, changes={"trading_enabled": False})
    async with live_socket(alice) as (communicator, snapshot):
        assert snapshot["payload"]["status"]["kill_switch_by"] == ["common", "paper"]
        result = await ask(communicator, {"type": "switch.set", "switch": "kill_switch", "on": False})
    assert result["ok"] and result["message"].startswith("the kill switch is now off (common settings, paper settings)")
    assert (await db(effective_config)()).trading_enabled is True


async def test_soft_stop_on_holds_even_where_the_mode_row_says_off(alice):
    await db(config_update)(scope=ConfigScope.PAPER, changes={"soft_stop": False})  # once an override, now no say
    async with live_socket(alice) as (communicator, _):
        result = await ask(communicator, {"type": "switch.set", "switch": "soft_stop", "on": True})
    assert result["ok"]
    config = await db(effective_config)()
    assert (config.soft_stop, config.soft_stop_by) == (True, ["common"])


async def test_a_repeated_set_is_harmless_never_a_toggle(alice):
    async with live_socket(alice) as (communicator, _):
        first = await ask(communicator, {"type": "switch.set", "switch": "soft_stop", "on": True})
        again = await ask(communicator, {"type": "switch.set", "switch": "soft_stop", "on": True})
    assert first["ok"] and again["ok"] and again["message"].startswith("soft stop was already on")
    assert (await db(effective_config)()).soft_stop is True
    assert await db(ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE).count)() == 1


async def test_soft_stop_off_releases_it_where_it_is_held_for_the_active_mode(alice):
    await db(config_update)(scope=ConfigScope.PAPER, changes={"soft_stop": True})
    async with live_socket(alice) as (communicator, _):
        result = await ask(communicator, {"type": "switch.set", "switch": "soft_stop", "on": False})
    assert result["ok"] and result["message"].startswith("soft stop is now off (paper settings)")
    assert (await db(effective_config)()).soft_stop is False


async def test_an_account_switch_writes_that_accounts_row_only_and_an_unknown_account_is_refused(alice):
    from trading.models import IBConnection

    await db(IBConnection.objects.create)(name="two", port=4002, client_id=12, accounts=["DU2"])
    await db(config_update)(scope=ConfigScope.COMMON, changes={"trading_enabled": True})
    async with live_socket(alice) as (communicator, _):
        result = await ask(communicator, {"type": "switch.set", "switch": "kill_switch", "on": True, "account": "DU2"})
        unknown = await ask(communicator, {"type": "switch.set", "switch": "kill_switch", "on": True, "account": "DU9"})
        bad = await ask(communicator, {"type": "switch.set", "switch": "kill_switch", "on": True, "account": 7})
    assert result["ok"] and result["message"].startswith("the kill switch is now on (account DU2 settings)")
    assert (await db(effective_config)(account="DU2")).kill_switch_by == ["account DU2"]
    assert (await db(effective_config)()).trading_enabled is True
    assert (unknown["ok"], unknown["error"]) == (False, "invalid") and "unknown account 'DU9'" in unknown["message"]
    assert (bad["ok"], bad["message"]) == (False, actions.BAD_ACCOUNT)
    assert await db(ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE, payload__account="DU2").count)() == 1


async def test_a_staff_user_without_the_settings_permission_cannot_set_a_switch(django_user_model):
    dave = await db(django_user_model.objects.create_user)("dave", "dave@example.com", "dave-password-1", is_staff=True)
    async with live_socket(dave) as (communicator, _):
        result = await ask(communicator, {"type": "switch.set", "switch": "kill_switch", "on": False})
    assert (result["ok"], result["error"], result["message"]) == (False, "permission_denied", actions.STAFF_ONLY)
    assert (await db(effective_config)()).trading_enabled is False
    assert not await db(ActivityEntry.objects.exists)()


async def test_a_demoted_user_loses_the_switches_on_an_open_socket(alice):
    async with live_socket(alice) as (communicator, _):
        await db(type(alice).objects.filter(pk=alice.pk).update)(is_staff=False)
        result = await ask(communicator, {"type": "switch.set", "switch": "kill_switch", "on": False})
    assert result["error"] == "permission_denied"


async def test_an_unknown_message_gets_a_clear_answer(bob):
    async with live_socket(bob) as (communicator, _):
        result = await ask(communicator, {"type": "order.place", "request_id": "x"})
    assert (result["ok"], result["error"], result["message"]) == (False, "unknown_message", "unknown message type 'order.place'")
