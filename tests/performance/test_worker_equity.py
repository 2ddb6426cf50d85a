"""The worker records equity snapshots against the real paper gateway: one on connect, one after a fill."""

import datetime as dt

import pytest

from tests.harness import WorkerThread, wait_until
from tests.intents.conftest import submit_and_wait
from trading.intents.executor import IntentExecutor
from trading.models import AccountValue, EquitySnapshot, RunStatus
from trading.worker.equity import EquityRecorder
from trading.worker.health import heartbeat_is_fresh

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.paper_gateway(tick_interval=0)]


@pytest.fixture
def old_minutes(transactional_db):
    """Minute points of a day long past, as a worker that ran then left them."""
    day = dt.datetime(2025, 6, 2, 14, 0, tzinfo=dt.UTC)
    for minute, value in enumerate((1000, 1001, 1002)):
        EquitySnapshot.objects.create(
            mode="paper", taken_at=day + dt.timedelta(minutes=minute), net_liquidation=value, currency="USD", reason="minute"
        )


@pytest.fixture
def equity_worker(old_minutes, paper_gateway, redis_url, transactional_db, tmp_path):
    """A worker whose minute cadence is an hour, so every other snapshot in the test is a fill's."""
    worker = WorkerThread(
        port=paper_gateway.port, var_dir=tmp_path, handler_paths=[],
        extensions=[IntentExecutor(sweep_interval=0.1), EquityRecorder(interval=3600, settle=0.3)],
    ).start()  # fmt: skip
    worker.wait_connected()
    wait_until(heartbeat_is_fresh, what="a connected heartbeat")  # runs are accepted from then on
    yield worker
    worker.stop()


def snapshots(reason: str) -> list[EquitySnapshot]:
    return list(EquitySnapshot.objects.filter(reason=reason, taken_at__year__gt=2025).order_by("taken_at"))


def test_it_records_one_snapshot_when_connected_and_one_after_a_fill(paper_gateway, equity_worker, trading_enabled):
    [first] = wait_until(lambda: snapshots("minute"), what="the connect's snapshot")
    net = AccountValue.objects.get(tag="NetLiquidation", currency="USD")
    assert first.mode == "paper" and first.currency == "USD" and first.account == net.account
    assert first.net_liquidation > 900_000 and snapshots("fill") == []

    run = submit_and_wait("place_order", {"symbol": "SPY", "action": "BUY", "quantity": 7, "order_type": "MKT"}, dry_run=False)
    assert run.status == RunStatus.SUCCEEDED, run.error

    [after] = wait_until(lambda: snapshots("fill"), what="a snapshot after the fill")
    assert after.taken_at > first.taken_at and after.net_liquidation > 900_000
    # the gateway's P&L stream (reqPnL, subscribed on connect) gave the figures, not a blank
    assert after.daily_pnl is not None and after.unrealized_pnl is not None
    equity_worker.flush()
    assert len(snapshots("minute")) == 1  # the hour-long cadence added none


def test_it_compacts_old_minute_points_when_it_connects(equity_worker):
    wait_until(lambda: snapshots("minute"), what="the connect's snapshot (the compaction is queued before it)")
    equity_worker.flush()
    old = EquitySnapshot.objects.filter(taken_at__year=2025)
    assert list(old.values_list("net_liquidation", "resolution")) == [(1002, "day")]
