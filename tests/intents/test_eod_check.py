"""eod_check: flat at the end of the day when enforce_flat_eod is on, an exposure report when it is off."""

import pytest

from tests.harness import wait_until
from tests.intents.conftest import gateway_positions, submit_and_wait
from trading.config import config_update
from trading.models import ConfigScope, Order, OrderStatus, RunStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def manual_positions(paper_gateway, console_worker):
    paper_gateway.external_trade("SPY", 10)
    paper_gateway.external_trade("TLT", -4)
    wait_until(lambda: len(console_worker.worker.ib.positions()) >= 2, what="positions at the worker")


def test_with_enforce_flat_eod_it_flattens_everything_even_with_the_kill_switch_on(paper_gateway, console_worker):
    config_update(scope=ConfigScope.COMMON, changes={"enforce_flat_eod": True})
    manual_positions(paper_gateway, console_worker)

    run = submit_and_wait("eod_check", dry_run=False)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["enforce_flat_eod"] is True and run.result["sent"] is True
    assert gateway_positions(paper_gateway) == {}
    assert {o.order_ref for o in Order.objects.filter(run=run)} == {f"ibc:eod_check/{run.pk}"}


def test_without_enforce_flat_eod_it_reports_exposure_and_sends_nothing(paper_gateway, console_worker):
    manual_positions(paper_gateway, console_worker)

    run = submit_and_wait("eod_check", dry_run=False)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["enforce_flat_eod"] is False and "nothing was flattened" in run.result["note"]
    assert {p["symbol"]: p["quantity"] for p in run.result["positions"]} == {"SPY": "10.0", "TLT": "-4.0"}
    assert run.result["gross_position_value"] > 5000
    assert gateway_positions(paper_gateway) == {"SPY": 10, "TLT": -4}
    assert not Order.objects.filter(run=run).exists()


def test_a_dry_run_with_enforce_flat_eod_plans_the_flattening_and_sends_nothing(paper_gateway, console_worker):
    config_update(scope=ConfigScope.COMMON, changes={"enforce_flat_eod": True})
    manual_positions(paper_gateway, console_worker)
    orders_before = len(paper_gateway.orders())

    run = submit_and_wait("eod_check", dry_run=True)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert {row["symbol"]: row["quantity"] for row in run.result["plan"]["close"]} == {"SPY": 10, "TLT": -4}
    assert len(paper_gateway.orders()) == orders_before
    assert set(Order.objects.filter(run=run).values_list("status", flat=True)) == {OrderStatus.PLANNED}
