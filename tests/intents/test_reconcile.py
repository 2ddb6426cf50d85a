"""reconcile: the portfolio snapshot (the seed's latest_portfolio, which it could never store)."""

import pytest

from tests.harness import wait_until
from tests.intents.conftest import gateway_positions, submit_and_wait
from tests.intents.factories import target_make
from trading.models import PortfolioSnapshot, RunStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.mark.paper_gateway(fill_delay=3.0)
def test_it_stores_and_returns_funds_holdings_and_open_orders(paper_gateway, console_worker, trading_enabled):
    paper_gateway.external_trade("TLT", 10)
    target_make("testsignalgenerator", {"SPY": 4})
    assert submit_and_wait("allocation").status == RunStatus.SUCCEEDED  # the SPY order rests for 3 s

    run = submit_and_wait("reconcile")

    assert run.status == RunStatus.SUCCEEDED, run.error
    snapshot = PortfolioSnapshot.objects.get(run=run)
    assert run.result["snapshot"] == snapshot.pk and snapshot.mode == "paper"
    assert snapshot.net_liquidation > 900_000 and snapshot.available_funds > 0 and snapshot.buying_power > 0
    assert run.result["net_liquidation"] == str(snapshot.net_liquidation)
    assert [(h["symbol"], h["quantity"]) for h in snapshot.holdings] == [("TLT", "10.0")]
    assert [(o["symbol"], o["action"], o["remaining"]) for o in snapshot.open_orders] == [("SPY", "BUY", "4.0")]
    wait_until(lambda: gateway_positions(paper_gateway) == {"TLT": 10, "SPY": 4}, what="the resting order to fill")


def test_a_dry_run_takes_the_same_snapshot_and_sends_nothing(paper_gateway, console_worker):
    run = submit_and_wait("reconcile", dry_run=True)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert PortfolioSnapshot.objects.filter(pk=run.result["snapshot"]).exists()
    assert run.result["holdings"] == [] and run.result["open_orders"] == []
    assert paper_gateway.orders() == []
