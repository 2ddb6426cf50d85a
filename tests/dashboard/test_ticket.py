"""The order ticket's server side: quote, preview, place, modify and cancel over the dashboard socket,
answered by a real IB worker (its OrderDesk and IntentExecutor) against the paper gateway."""

import time

import pytest

from tests.dashboard.conftest import ask, db, live_socket
from tests.harness import WorkerThread, wait_until
from tests.intents.factories import switches_set
from trading.intents.desk import OrderDesk
from trading.intents.executor import IntentExecutor
from trading.intents.orders import KILL_SWITCH
from trading.live import PREVIEW_TIMEOUT, QUOTE_TIMEOUT
from trading.models import ActivityEntry, IntentRun, Order, RunStatus

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
    pytest.mark.paper_gateway(tick_interval=0),
    pytest.mark.usefixtures("redis_url"),
]

LIMIT_BUY = {"symbol": "SPY", "action": "BUY", "quantity": 5, "limit_price": 90}


@pytest.fixture
def ticket_worker(paper_gateway, redis_url, transactional_db, tmp_path):
    """The IB worker with the order desk and intent execution, connected, its heartbeat fresh."""
    from trading.worker.health import heartbeat_is_fresh

    worker = WorkerThread(
        port=paper_gateway.port, var_dir=tmp_path, extensions=[IntentExecutor(sweep_interval=0.1), OrderDesk()]
    ).start()
    worker.wait_connected()
    wait_until(heartbeat_is_fresh, what="a connected heartbeat")
    yield worker
    worker.stop()


@pytest.fixture
def trading_on(transactional_db):
    switches_set(trading_enabled=True, soft_stop=False, dry_run_default=False)


def rows_written() -> tuple[int, int, int]:
    return Order.objects.count(), IntentRun.objects.count(), ActivityEntry.objects.count()


async def test_a_quote_returns_the_gateways_bid_ask_and_last(alice, paper_gateway, ticket_worker):
    quote = paper_gateway.set_price("SPY", 100)

    async with live_socket(alice) as (communicator, _):
        result = await ask(communicator, {"type": "order.quote", "request_id": "q1", "symbol": "spy"}, timeout=QUOTE_TIMEOUT + 1)

    assert (result["ok"], result["action"], result["request_id"]) == (True, "order.quote", "q1"), result
    got = result["quote"]
    assert (got["symbol"], got["bid"], got["ask"], got["last"]) == ("SPY", quote["bid"], quote["ask"], quote["last"])
    assert got["mid"] == pytest.approx((quote["bid"] + quote["ask"]) / 2) and got["time"]


async def test_a_quote_of_a_symbol_ib_does_not_know_says_so(alice, ticket_worker):
    async with live_socket(alice) as (communicator, _):
        result = await ask(communicator, {"type": "order.quote", "symbol": "NOSUCH"}, timeout=QUOTE_TIMEOUT + 1)

    assert (result["ok"], result["error"]) == (False, "contract_unknown") and "NOSUCH" in result["message"]


async def test_a_preview_of_a_limit_buy_passes_every_check_has_a_what_if_and_writes_nothing(
    alice, paper_gateway, ticket_worker, trading_on
):
    paper_gateway.set_price("SPY", 100)
    before = await db(rows_written)()

    async with live_socket(alice) as (communicator, _):
        result = await ask(
            communicator, {"type": "order.preview", "request_id": "p1", "params": LIMIT_BUY}, timeout=PREVIEW_TIMEOUT + 1
        )

    assert result["ok"] and result["action"] == "order.preview", result
    preview = result["preview"]
    assert (preview["quantity"], preview["price_used"], preview["sizing"], preview["would_send"]) == (5, None, "quantity", True)
    assert preview["orders"] == [
        {"action": "BUY", "quantity": 5, "order_type": "LMT", "lmt_price": 90, "aux_price": None, "tif": "DAY", "role": "parent"}
    ]
    assert all(check["ok"] for check in preview["checks"]), preview["checks"]
    assert {"mode", "kill_switch", "soft_stop", "max_order_quantity", "max_order_notional", "allowed_symbols", "duplicate"} <= {
        check["rule"] for check in preview["checks"]
    }
    what_if = preview["what_if"]
    assert what_if["init_margin_change"] > 0 and what_if["commission"] > 0 and what_if["warning"] == ""
    await db(ticket_worker.flush)()
    assert await db(rows_written)() == before
    assert not [o for o in paper_gateway.open_orders() if o["client_id"] == 1]


async def test_a_preview_of_a_bracket_lists_the_entry_and_both_exits(alice, paper_gateway, ticket_worker, trading_on):
    paper_gateway.set_price("SPY", 100)
    bracket = {**LIMIT_BUY, "take_profit": 110, "stop_loss": 80}

    async with live_socket(alice) as (communicator, _):
        result = await ask(communicator, {"type": "order.preview", "params": bracket}, timeout=PREVIEW_TIMEOUT + 1)

    orders = result["preview"]["orders"]
    assert [(o["role"], o["action"], o["order_type"], o["lmt_price"], o["aux_price"]) for o in orders] == [
        ("parent", "BUY", "LMT", 90, None),
        ("take_profit", "SELL", "LMT", 110, None),
        ("stop_loss", "SELL", "STP", None, 80),
    ]


async def test_a_preview_under_the_kill_switch_names_the_failing_check_and_still_writes_nothing(
    alice, paper_gateway, ticket_worker
):
    await db(switches_set)(trading_enabled=False)
    paper_gateway.set_price("SPY", 100)
    before = await db(rows_written)()

    async with live_socket(alice) as (communicator, _):
        result = await ask(communicator, {"type": "order.preview", "params": LIMIT_BUY}, timeout=PREVIEW_TIMEOUT + 1)

    preview = result["preview"]
    failing = [check for check in preview["checks"] if not check["ok"]]
    assert failing == [{"rule": "kill_switch", "ok": False, "message": KILL_SWITCH}]
    assert preview["would_send"] is False and "refused by kill_switch" in result["message"]
    await db(ticket_worker.flush)()
    assert await db(rows_written)() == before


async def test_a_preview_with_bad_params_names_the_field(alice, ticket_worker):
    async with live_socket(alice) as (communicator, _):
        result = await ask(communicator, {"type": "order.preview", "params": {"symbol": "SPY", "action": "BUY", "quantity": -3}})
        no_price = await ask(communicator, {"type": "order.preview", "params": {**LIMIT_BUY, "order_type": "STP"}})

    assert (result["ok"], result["error"]) == (False, "params_invalid")
    assert "quantity" in result["message"] and [e["loc"] for e in result["details"]] == [["quantity"]]
    assert no_price["error"] == "params_invalid" and "stop_price" in no_price["message"]


async def test_with_no_worker_running_a_quote_and_a_preview_are_worker_unavailable_at_once(alice, stale_heartbeat):
    started = time.monotonic()
    async with live_socket(alice) as (communicator, _):
        quote = await ask(communicator, {"type": "order.quote", "symbol": "SPY"}, timeout=QUOTE_TIMEOUT + 1)
        preview = await ask(communicator, {"type": "order.preview", "params": LIMIT_BUY}, timeout=PREVIEW_TIMEOUT + 1)

    assert (quote["ok"], quote["error"], preview["ok"], preview["error"]) == (
        False, "worker_unavailable", False, "worker_unavailable",
    )  # fmt: skip
    assert "no heartbeat for" in quote["message"] and time.monotonic() - started < QUOTE_TIMEOUT


async def test_a_worker_that_says_it_is_up_but_never_answers_is_worker_unavailable_within_the_timeout(alice, fresh_heartbeat):
    started = time.monotonic()
    async with live_socket(alice) as (communicator, _):
        result = await ask(communicator, {"type": "order.quote", "symbol": "SPY"}, timeout=QUOTE_TIMEOUT + 2)

    assert (result["ok"], result["error"]) == (False, "worker_unavailable")
    assert "did not answer within 5s" in result["message"]
    assert QUOTE_TIMEOUT <= time.monotonic() - started < QUOTE_TIMEOUT + 2


async def test_place_through_intent_run_ends_with_the_order_working_at_the_gateway(
    alice, paper_gateway, ticket_worker, trading_on
):
    paper_gateway.set_price("SPY", 100)

    async with live_socket(alice) as (communicator, _):
        result = await ask(
            communicator,
            {"type": "intent.run", "request_id": "s1", "intent": "place_order", "params": LIMIT_BUY, "dry_run": False},
        )

    assert result["ok"] and result["created"], result
    run = await db(wait_until)(
        lambda: IntentRun.objects.filter(pk=result["run"]["id"], status__in=RunStatus.final_values()).first(),
        what="the place_order run to finish",
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    working = [(o["action"], o["total_quantity"], o["lmt_price"]) for o in paper_gateway.open_orders() if o["client_id"] == 1]
    assert working == [("BUY", 5, 90)]


async def test_order_modify_submits_modify_order_for_the_row_and_changes_the_working_order_at_the_gateway(
    alice, paper_gateway, ticket_worker, trading_on
):
    paper_gateway.set_price("SPY", 100)
    async with live_socket(alice) as (communicator, _):
        placed = await ask(communicator, {"type": "intent.run", "intent": "place_order", "params": LIMIT_BUY, "dry_run": False})
        row = await db(wait_until)(
            lambda: Order.objects.filter(run_id=placed["run"]["id"], status="Submitted").first(), what="the order working"
        )

        result = await ask(communicator, {"type": "order.modify", "request_id": "m1", "order": row.pk, "limit_price": 91.5})

    assert result["ok"] and result["created"] and result["run"]["intent"] == "modify_order", result
    run = await db(IntentRun.objects.get)(pk=result["run"]["id"])
    assert (run.params, run.dry_run) == ({"order": row.pk, "limit_price": 91.5}, False)
    await db(wait_until)(
        lambda: [o["lmt_price"] for o in paper_gateway.open_orders() if o["client_id"] == 1] == [91.5],
        what="the working order's new limit price at the gateway",
    )


async def test_order_modify_refuses_an_unknown_or_finished_order_and_needs_a_change(alice, fresh_heartbeat):
    from tests.dashboard.test_actions import open_order

    filled = await db(open_order)(status="Filled")
    working = await db(open_order)(order_id=43, perm_id=9002)
    async with live_socket(alice) as (communicator, _):
        unknown = await ask(communicator, {"type": "order.modify", "order": 999999, "limit_price": 2})
        done = await ask(communicator, {"type": "order.modify", "order": filled.pk, "limit_price": 2})
        nothing = await ask(communicator, {"type": "order.modify", "order": working.pk})
        junk = await ask(communicator, {"type": "order.modify", "order": working.pk, "quantity": "lots"})

    assert (unknown["error"], done["error"], nothing["error"], junk["error"]) == (
        "order_unknown", "order_not_open", "params_invalid", "params_invalid",
    )  # fmt: skip
    assert "nothing to modify" in done["message"]
    assert not await db(IntentRun.objects.exists)()


async def test_the_ticket_asks_the_worker_of_the_account_it_is_for_under_that_accounts_rows(
    alice, paper_gateway, ticket_worker, trading_on
):
    """Quotes and previews go to the worker of the account the page shows, previewed under that
    account's settings rows; an account whose worker is down is refused at once, an unknown one named."""
    from trading.config import switch_set
    from trading.models import IBConnection

    def accounts():
        IBConnection.objects.filter(name="default").update(accounts=["DU1234567"])
        IBConnection.objects.create(name="desk2", port=4012, client_id=2, mode="paper", accounts=["DU2"])
        switch_set(switch="kill_switch", on=True, account="DU1234567", source="test")

    await db(accounts)()
    paper_gateway.set_price("SPY", 100)
    async with live_socket(alice) as (communicator, _):
        mine = await ask(communicator, {"type": "order.preview", "params": {**LIMIT_BUY, "account": "DU1234567"}})
        quote = await ask(communicator, {"type": "order.quote", "symbol": "SPY", "account": "DU1234567"})
        down = await ask(communicator, {"type": "order.preview", "params": {**LIMIT_BUY, "account": "DU2"}})
        down_quote = await ask(communicator, {"type": "order.quote", "symbol": "SPY", "account": "DU2"})
        unknown = await ask(communicator, {"type": "order.preview", "params": {**LIMIT_BUY, "account": "U9"}})
        both = await ask(communicator, {"type": "order.preview", "params": LIMIT_BUY})

    failing = [check["rule"] for check in mine["preview"]["checks"] if not check["ok"]]
    assert mine["ok"] and failing == ["kill_switch"]  # the account's own kill switch, at its worker
    assert quote["ok"] and quote["quote"]["symbol"] == "SPY"
    assert (down["error"], down_quote["error"]) == ("worker_unavailable", "worker_unavailable")
    assert unknown["error"] == "params_invalid" and "unknown account 'U9'" in unknown["message"]
    assert both["error"] == "params_invalid" and "several accounts are known (DU1234567, DU2)" in both["message"]
