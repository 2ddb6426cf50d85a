"""risk_check: a breached loss or exposure limit turns trading off for the active mode, and it stays off."""

import pytest

from tests.harness import wait_until
from tests.intents.conftest import submit_and_wait
from tests.intents.factories import target_make
from trading.config import config_update, effective_config
from trading.models import ActivityEntry, ActivityKind, ConfigScope, RunStatus, TradingConfig
from trading.models.activity import Severity

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.paper_gateway(tick_interval=0)]


def lose_money(paper_gateway, console_worker, *, shares=200, percent=-10.0, below=-5000.0):
    """A manual SPY position that then drops 10%: IB's DailyPnL for the account goes below `below`."""
    paper_gateway.external_trade("SPY", shares)
    paper_gateway.move_price("SPY", percent=percent)
    ib = console_worker.worker.ib
    wait_until(lambda: any(p.dailyPnL < below for p in ib.pnl()), what="IB's daily P&L to show the loss")


def test_a_daily_loss_over_the_limit_turns_trading_off_and_a_later_order_is_refused(
    paper_gateway, console_worker, trading_enabled
):
    lose_money(paper_gateway, console_worker)

    run = submit_and_wait("risk_check")

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["tripped"] is True and run.result["pnl_source"] == "reqPnL DailyPnL"
    assert run.result["loss"] > 5000 and "over the daily loss limit 5,000.00" in run.result["breaches"][0]
    assert TradingConfig.objects.get(scope=ConfigScope.PAPER).trading_enabled is False
    assert effective_config().trading_enabled is False
    entry = ActivityEntry.objects.get(kind=ActivityKind.RISK)
    assert entry.severity == Severity.WARNING and "trading turned off for paper" in entry.message
    change = ActivityEntry.objects.get(kind=ActivityKind.CONFIG_CHANGE, payload__source="risk_check")
    assert change.payload["changes"]["trading_enabled"] == {"from": None, "to": False}

    orders_before = len(paper_gateway.orders())
    target_make("testsignalgenerator", {"SPY": 250})
    refused = submit_and_wait("allocation")
    assert refused.status == RunStatus.FAILED and "kill switch" in refused.error
    assert len(paper_gateway.orders()) == orders_before


def test_gross_exposure_over_the_limit_trips_it_too(paper_gateway, console_worker, trading_enabled):
    config_update(scope=ConfigScope.COMMON, changes={"max_gross_exposure": 500})
    paper_gateway.external_trade("TLT", 10)  # ~920 USD

    run = submit_and_wait("risk_check")

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["tripped"] is True and run.result["gross_position_value"] > 500
    assert "over the maximum gross exposure 500.00" in run.result["breaches"][0]
    assert effective_config().trading_enabled is False


def test_a_dry_run_reports_the_breach_and_changes_nothing(paper_gateway, console_worker, trading_enabled):
    lose_money(paper_gateway, console_worker)

    run = submit_and_wait("risk_check", dry_run=True)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["breaches"] and run.result["would_trip"] is True and run.result["tripped"] is False
    assert effective_config().trading_enabled is True
    assert not ActivityEntry.objects.filter(kind=ActivityKind.RISK).exists()


def test_within_limits_nothing_changes(paper_gateway, console_worker, trading_enabled):
    lose_money(paper_gateway, console_worker, shares=10, percent=-1.0, below=-1.0)

    run = submit_and_wait("risk_check")

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["breaches"] == [] and run.result["tripped"] is False and 0 < run.result["loss"] < 5000
    assert effective_config().trading_enabled is True


def test_a_breach_of_an_accounts_own_limit_stops_that_account_not_the_mode(paper_gateway, console_worker, trading_enabled):
    from trading.models import IBConnection

    IBConnection.objects.filter(name="default").update(accounts=["DU1234567", "DU2"])
    config_update(scope=ConfigScope.ACCOUNT, account="DU1234567", changes={"max_gross_exposure": 500})
    paper_gateway.external_trade("TLT", 10)  # ~920 USD: over the account's 500, under any mode limit

    run = submit_and_wait("risk_check", account="DU1234567")  # two accounts on the connection: named

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.result["tripped"], run.result["scope"], run.result["account"]) == (True, "account", "DU1234567")
    assert TradingConfig.objects.get(scope=ConfigScope.ACCOUNT, account="DU1234567").trading_enabled is False
    assert TradingConfig.objects.get(scope=ConfigScope.PAPER).trading_enabled is None  # the mode is left alone
    assert effective_config(account="DU1234567").kill_switch_by == ["account DU1234567"]
    assert effective_config(account="DU2").trading_enabled is True
    assert "trading turned off for account DU1234567" in ActivityEntry.objects.get(kind=ActivityKind.RISK).message
