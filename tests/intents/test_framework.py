"""The submission path, the executor and the order gateway, end to end against the paper gateway."""

import asyncio

import pytest
from ib_insync import Stock

from tests.harness import wait_until
from tests.intents.conftest import gateway_positions, submit_and_wait
from trading.config import config_update
from trading.intents import Intent, IntentParams, intent_register
from trading.intents.runs import IdempotencyConflict, IntentParamsInvalid, WorkerUnavailable, run_submit, run_wait
from trading.models import ActivityEntry, ActivityKind, ConfigScope, IntentRun, Order, OrderStatus, RunSource, RunStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@intent_register
class BuyForTest(Intent):
    """A strategy-like intent that increases a position: what the kill switch and soft stop must stop."""

    name = "test_buy"
    places_orders = True

    class Params(IntentParams):
        symbol: str = "SPY"
        quantity: int = 5

    async def run(self, ctx, params):
        contract = Stock(params.symbol, "SMART", "USD")
        await ctx.qualify(contract)
        placed = await ctx.orders.place(contract=contract, action="BUY", quantity=params.quantity, owner="testsignalgenerator")
        return {"order": placed.as_dict()}


@intent_register
class QuickExpiry(Intent):
    name = "test_quick_expiry"
    start_within = 0.5

    async def run(self, ctx, params):
        return {"ran": True}


def test_summary_returns_account_summary_portfolio_trades_and_fills_as_lists(console_worker):
    run = submit_and_wait("summary")
    assert run.status == RunStatus.SUCCEEDED, run.error
    result = run.result
    tags = {row["tag"] for row in result["account_summary"]}
    assert {"NetLiquidation", "AvailableFunds"} <= tags
    for key in ("portfolio", "open_trades", "fills"):
        assert isinstance(result[key], list)


def test_close_all_dry_run_plans_and_sends_nothing(paper_gateway, console_worker):
    paper_gateway.external_trade("SPY", 10)
    paper_gateway.external_trade("TLT", -4)
    wait_until(lambda: len(console_worker.worker.ib.positions()) >= 2, what="positions at the worker")
    orders_before = len(paper_gateway.orders())

    run = submit_and_wait("close_all", {"dryRun": True})

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert {row["symbol"] for row in run.result["plan"]["close"]} == {"SPY", "TLT"}
    assert len(paper_gateway.orders()) == orders_before
    assert set(Order.objects.filter(run=run).values_list("status", flat=True)) == {OrderStatus.PLANNED}
    assert gateway_positions(paper_gateway) == {"SPY": 10, "TLT": -4}


def test_close_all_flattens_everything_while_the_kill_switch_is_on(paper_gateway, console_worker):
    paper_gateway.external_trade("SPY", 10)
    paper_gateway.external_trade("TLT", -4)
    wait_until(lambda: len(console_worker.worker.ib.positions()) >= 2, what="positions at the worker")

    run = submit_and_wait("close_all", {"dryRun": False})

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert gateway_positions(paper_gateway) == {}
    orders = Order.objects.filter(run=run)
    assert orders.count() == 2 and all(o.order_ref == f"ibc:close_all/{run.pk}" for o in orders)
    wait_until(lambda: set(Order.objects.filter(run=run).values_list("status", flat=True)) == {"Filled"}, what="fills recorded")


def test_the_kill_switch_refuses_a_strategys_order_and_records_why(paper_gateway, console_worker):
    run = submit_and_wait("test_buy", dry_run=False)
    assert run.status == RunStatus.FAILED
    assert "kill switch" in run.error
    assert paper_gateway.orders() == []
    refused = Order.objects.get(run=run)
    assert refused.status == OrderStatus.REFUSED and "kill switch" in refused.last_error
    assert ActivityEntry.objects.filter(kind=ActivityKind.ORDER_REFUSED, run=run).exists()


def test_soft_stop_refuses_orders_that_increase_a_position(paper_gateway, console_worker, trading_enabled):
    config_update(scope=ConfigScope.COMMON, changes={"soft_stop": True})
    run = submit_and_wait("test_buy")
    assert run.status == RunStatus.FAILED and "soft stop" in run.error
    assert paper_gateway.orders() == []


def test_risk_limits_are_read_at_the_moment_of_the_order(paper_gateway, console_worker, trading_enabled):
    config_update(scope=ConfigScope.COMMON, changes={"max_order_quantity": 3})
    run = submit_and_wait("test_buy", {"quantity": 5})
    assert run.status == RunStatus.FAILED and "maximum order quantity 3" in run.error
    config_update(scope=ConfigScope.COMMON, changes={"max_order_quantity": 10, "allowed_symbols": "QQQ"})
    run = submit_and_wait("test_buy", {"quantity": 5})
    assert run.status == RunStatus.FAILED and "not in the allowed symbols" in run.error
    config_update(scope=ConfigScope.COMMON, changes={"allowed_symbols": ""})
    run = submit_and_wait("test_buy", {"quantity": 5})
    assert run.status == RunStatus.SUCCEEDED, run.error
    wait_until(lambda: paper_gateway.positions().get("SPY") == 5, what="the order to fill at the gateway")


def test_the_same_idempotency_key_gives_one_run_and_one_set_of_orders(paper_gateway, console_worker, trading_enabled):
    first, created = run_submit(intent="test_buy", params={"quantity": 2}, source=RunSource.API, idempotency_key="k-1")
    again, created_again = run_submit(intent="test_buy", params={"quantity": 2}, source=RunSource.API, idempotency_key="k-1")
    assert (created, created_again) == (True, False) and first.pk == again.pk
    assert run_wait(first.pk, timeout=20).status == RunStatus.SUCCEEDED
    _, created_late = run_submit(intent="test_buy", params={"quantity": 2}, source=RunSource.API, idempotency_key="k-1")
    assert created_late is False
    with pytest.raises(IdempotencyConflict, match="k-1"):
        run_submit(intent="test_buy", params={"quantity": 3}, source=RunSource.API, idempotency_key="k-1")
    assert IntentRun.objects.count() == 1
    wait_until(lambda: paper_gateway.positions().get("SPY") == 2, what="one fill of 2")
    assert len(paper_gateway.orders()) == 1


def test_bad_input_is_refused_before_anything_is_recorded(console_worker):
    with pytest.raises(IntentParamsInvalid, match="quantity"):
        run_submit(intent="test_buy", params={"quantity": "many"}, source=RunSource.CLI)
    with pytest.raises(IntentParamsInvalid, match="colour"):
        run_submit(intent="summary", params={"colour": "red"}, source=RunSource.CLI)
    with pytest.raises(IntentParamsInvalid, match="unknown strategy 'nope'"):
        run_submit(intent="close_all", params={"strategies": ["nope"]}, source=RunSource.CLI)
    assert not IntentRun.objects.exists()


def test_a_run_submitted_while_the_worker_is_down_is_refused(transactional_db):
    with pytest.raises(WorkerUnavailable, match="never run"):
        run_submit(intent="summary", source=RunSource.CLI)
    assert not IntentRun.objects.exists()


def test_a_queued_run_the_worker_cannot_start_in_time_expires_and_never_runs(console_worker):
    console_worker.call(_pause_executor(console_worker))  # the worker stops taking runs (as if it hung)
    run, _ = run_submit(intent="test_quick_expiry", source=RunSource.SCHEDULE)
    run = run_wait(run.pk, timeout=5)
    assert run.status == RunStatus.EXPIRED and "will not run late" in run.error
    console_worker.call(_resume_executor(console_worker))
    console_worker.call(asyncio.sleep(0.5))
    run.refresh_from_db()
    assert run.status == RunStatus.EXPIRED and run.started_at is None


async def _pause_executor(worker_thread):
    worker_thread.worker.synced = False


async def _resume_executor(worker_thread):
    worker_thread.worker.synced = True
