"""cash_balancer: foreign cash above the threshold converted home on FXCONV, in whole thousands.

The paper account starts with 1,000,000 USD, 20,000 EUR (~22,000 USD) and 1,500,000 JPY (~9,700 USD).
"""

import pytest

from tests.harness import wait_until
from tests.intents.conftest import submit_and_wait
from trading.config import config_update
from trading.intents.builtin.cash_balancer import conversion_plan, fx_pair
from trading.models import ConfigScope, Order, OrderStatus, RunStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
gateway = pytest.mark.paper_gateway(tick_interval=0)


@pytest.fixture
def no_notional_limit(transactional_db):
    # The order gateway measures an FX order's notional in the pair's quote currency (JPY for USD.JPY),
    # so a 9,000 USD conversion reads as ~1.4M against the 250,000 default: lifted for these tests.
    config_update(scope=ConfigScope.COMMON, changes={"max_order_notional": None})


def test_ib_quotes_pairs_with_the_senior_currency_first():
    assert fx_pair("EUR", "USD") == ("EUR", "USD")
    assert fx_pair("JPY", "USD") == ("USD", "JPY")
    assert fx_pair("CHF", "EUR") == ("EUR", "CHF")


def test_the_plan_rounds_the_balance_down_to_thousands_and_skips_what_is_under_the_threshold():
    plan, notes = conversion_plan(
        balances={"USD": 5e5, "EUR": 20_500.0, "JPY": 1_500_000.0, "GBP": 300.0, "CAD": -4_200.0},
        rates={"EUR": 1.1, "JPY": 1 / 150, "GBP": 1.27, "CAD": 1 / 1.36},
        base="USD",
        threshold=1000.0,
    )
    assert [(c.pair, c.action, c.quantity) for c in plan] == [
        ("USDCAD", "SELL", 3000),  # -4,200 CAD is ~-3,088 USD: buy CAD back by selling USD.CAD
        ("EURUSD", "SELL", 20000),
        ("USDJPY", "BUY", 10000),
    ]
    assert notes == []


@gateway
def test_it_converts_every_balance_over_the_threshold_home(paper_gateway, console_worker, trading_enabled, no_notional_limit):
    run = submit_and_wait("cash_balancer")

    assert run.status == RunStatus.SUCCEEDED, run.error
    exposure = run.result["exposure"]
    orders = {o["pair"]: (o["action"], o["quantity"]) for o in run.result["plan"]}
    assert orders == {"EURUSD": ("SELL", 20000), "USDJPY": ("BUY", int(exposure["JPY"] // 1000) * 1000)}
    cash = paper_gateway.cash()
    assert cash["EUR"] == 0
    assert 0 < cash["JPY"] * exposure["JPY"] / 1_500_000 < 1000  # less than one lot left, under the threshold
    assert paper_gateway.positions() == {}  # FXCONV converts cash and opens no FX position
    assert [e["exchange"] for e in paper_gateway.executions()] == ["FXCONV", "FXCONV"]
    wait_until(
        lambda: set(Order.objects.filter(run=run).values_list("status", flat=True)) == {OrderStatus.FILLED}, what="fills recorded"
    )


@gateway
def test_a_balance_is_converted_in_whole_thousands(paper_gateway, console_worker, trading_enabled):
    config_update(scope=ConfigScope.COMMON, changes={"cash_balancer_threshold": 15000})
    paper_gateway.external_trade("EUR.USD", 500)  # a manual IDEALPRO trade: 20,500 EUR

    run = submit_and_wait("cash_balancer")

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert [(o["pair"], o["action"], o["quantity"]) for o in run.result["plan"]] == [("EURUSD", "SELL", 20000)]
    assert paper_gateway.cash()["EUR"] == 500
    assert paper_gateway.cash()["JPY"] == 1_500_000  # ~9,700 USD: under the 15,000 threshold, left alone


@gateway
def test_a_dry_run_returns_the_plan_and_sends_nothing(paper_gateway, console_worker, trading_enabled, no_notional_limit):
    cash_before = paper_gateway.cash()

    run = submit_and_wait("cash_balancer", {"dryRun": True})

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert {o["pair"] for o in run.result["plan"]} == {"EURUSD", "USDJPY"} and run.result["sent"] is False
    assert paper_gateway.orders() == [] and paper_gateway.cash() == cash_before
    assert set(Order.objects.filter(run=run).values_list("status", flat=True)) == {OrderStatus.PLANNED}


@gateway
def test_nothing_happens_when_every_balance_is_under_the_threshold(paper_gateway, console_worker, trading_enabled):
    config_update(scope=ConfigScope.COMMON, changes={"cash_balancer_threshold": 50000})

    run = submit_and_wait("cash_balancer")

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["plan"] == [] and paper_gateway.orders() == []
