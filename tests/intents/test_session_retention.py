"""The worker lets go of ib_insync's recorded, finished trades and fills and of unsubscribed tickers,
against the real paper gateway and worker; trade_reconciliation stays right once they are gone."""

from decimal import Decimal

import pytest
from ib_insync import Stock

from tests.harness import WorkerThread, wait_until
from tests.intents.conftest import submit_and_wait
from trading.intents.executor import IntentExecutor
from trading.models import Fill, Order, OrderStatus, RunStatus
from trading.worker.health import heartbeat_is_fresh
from trading.worker.retention import SessionRetention, fill_drop

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.paper_gateway(tick_interval=0)]


@pytest.fixture
def retention_worker(paper_gateway, redis_url, transactional_db, tmp_path):
    """A worker whose own sweep never comes (an hour): the test sweeps when it wants, with its window."""
    worker = WorkerThread(
        port=paper_gateway.port, var_dir=tmp_path, handler_paths=[],
        extensions=[IntentExecutor(sweep_interval=0.1), SessionRetention(interval=3600)],
    ).start()  # fmt: skip
    worker.wait_connected()
    wait_until(heartbeat_is_fresh, what="a connected heartbeat")
    yield worker
    worker.stop()


def sweep(worker: WorkerThread, window: float, most: int = 10_000):
    return worker.call(SessionRetention(window=window, most=most).sweep(worker.worker))


def session(worker: WorkerThread) -> tuple[set, set]:
    """perm ids of ib.trades() and exec ids of ib.fills(), read on the worker's loop."""

    async def read():
        ib = worker.worker.ib
        return {t.order.permId for t in ib.trades()}, {f.execution.execId for f in ib.fills()}

    return worker.call(read())


def market_buy(paper_gateway, quantity: int) -> tuple[Order, Fill]:
    run = submit_and_wait(
        "place_order", {"symbol": "SPY", "action": "BUY", "quantity": quantity, "order_type": "MKT"}, dry_run=False
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    row = wait_until(lambda: Order.objects.filter(run=run, status=OrderStatus.FILLED).first(), what="the filled row")
    fill = wait_until(
        lambda: Fill.objects.filter(perm_id=row.perm_id, commission__isnull=False).first(), what="the fill and its commission"
    )
    return row, fill


def resting_buy(paper_gateway) -> Order:
    run = submit_and_wait("place_order", {"symbol": "SPY", "action": "BUY", "quantity": 3, "limit_price": 90}, dry_run=False)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return wait_until(lambda: Order.objects.filter(run=run, status=OrderStatus.SUBMITTED).first(), what="the working row")


def test_recorded_done_trades_and_fills_go_working_orders_stay(paper_gateway, retention_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)
    done, fill = market_buy(paper_gateway, 4)
    working = resting_buy(paper_gateway)
    retention_worker.flush()
    trades, fills = session(retention_worker)
    assert {done.perm_id, working.perm_id} <= trades and fill.exec_id in fills

    kept = sweep(retention_worker, window=3600)  # recorded, but younger than the window
    assert (kept.trades, kept.fills) == (0, 0) and session(retention_worker) == (trades, fills)

    swept = sweep(retention_worker, window=0)

    assert swept.trades >= 1 and swept.fills >= 1
    trades_after, fills_after = session(retention_worker)
    assert done.perm_id not in trades_after and fill.exec_id not in fills_after
    assert working.perm_id in trades_after  # a working order's trade is never dropped
    wrapper = retention_worker.worker.ib.wrapper
    assert done.perm_id not in wrapper.permId2Trade and working.perm_id in wrapper.permId2Trade
    # the records keep the history
    assert Order.objects.get(pk=done.pk).status == OrderStatus.FILLED and Fill.objects.filter(exec_id=fill.exec_id).exists()


def test_past_the_most_kept_the_oldest_done_trades_and_fills_go_inside_the_window(
    paper_gateway, retention_worker, trading_enabled
):
    paper_gateway.set_price("SPY", 100)
    older, older_fill = market_buy(paper_gateway, 2)
    newer, newer_fill = market_buy(paper_gateway, 3)
    working = resting_buy(paper_gateway)
    retention_worker.flush()

    swept = sweep(retention_worker, window=3600, most=1)  # all younger than the window: only the cap acts

    assert (swept.trades, swept.fills) == (1, 1)
    trades, fills = session(retention_worker)
    assert older.perm_id not in trades and older_fill.exec_id not in fills
    assert newer.perm_id in trades and newer_fill.exec_id in fills and working.perm_id in trades


def test_a_done_trade_whose_fill_went_in_an_earlier_sweep_goes_too(paper_gateway, retention_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)
    done, fill = market_buy(paper_gateway, 3)
    retention_worker.flush()

    async def fill_first():  # as a sweep does when the fill's window ends before the trade's
        wrapper = retention_worker.worker.ib.wrapper
        return fill_drop(wrapper, wrapper.fills[fill.exec_id])

    assert retention_worker.call(fill_first())
    assert done.perm_id in session(retention_worker)[0]

    swept = sweep(retention_worker, window=0)

    assert swept.trades >= 1 and done.perm_id not in session(retention_worker)[0]


def test_what_is_not_recorded_is_kept_until_it_is(paper_gateway, retention_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)
    done, fill = market_buy(paper_gateway, 2)
    retention_worker.flush()
    # as if the recorder had not written them yet: no final status on the row, no commission on the fill
    Order.objects.filter(pk=done.pk).update(status=OrderStatus.SUBMITTED)
    Fill.objects.filter(pk=fill.pk).update(commission=None)

    swept = sweep(retention_worker, window=0)

    assert (swept.trades, swept.fills) == (0, 0) and swept.kept_unrecorded >= 2
    trades, fills = session(retention_worker)
    assert done.perm_id in trades and fill.exec_id in fills

    Order.objects.filter(pk=done.pk).update(status=OrderStatus.FILLED)
    Fill.objects.filter(pk=fill.pk).update(commission=Decimal("1"))
    swept = sweep(retention_worker, window=0)
    trades, fills = session(retention_worker)
    assert done.perm_id not in trades and fill.exec_id not in fills


def test_subscribed_tickers_stay_ended_snapshots_go(paper_gateway, retention_worker):
    paper_gateway.set_price("SPY", 100)
    paper_gateway.set_price("QQQ", 200)

    async def request():
        ib = retention_worker.worker.ib
        spy, qqq = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"), Stock("QQQ", "SMART", "USD"))
        streaming = ib.reqMktData(spy)
        [snapshot] = await ib.reqTickersAsync(qqq)
        return streaming, snapshot

    streaming, snapshot = retention_worker.call(request())
    wrapper = retention_worker.worker.ib.wrapper
    assert any(t is snapshot for t in wrapper.tickers.values())

    swept = sweep(retention_worker, window=0)

    assert swept.tickers >= 1
    assert any(t is streaming for t in wrapper.tickers.values())
    assert not any(t is snapshot for t in wrapper.tickers.values())
    assert not any(t is snapshot for t in wrapper.reqId2Ticker.values())
    assert any(t is streaming for t in wrapper.reqId2Ticker.values())  # its ticks still find it


def test_trade_reconciliation_is_right_after_the_session_let_go_of_the_trade(paper_gateway, retention_worker, trading_enabled):
    paper_gateway.set_price("SPY", 100)
    done, fill = market_buy(paper_gateway, 5)
    retention_worker.flush()
    sweep(retention_worker, window=0)
    assert done.perm_id not in session(retention_worker)[0]
    Order.objects.filter(pk=done.pk).update(status=OrderStatus.SUBMITTED, filled=0, remaining=5)

    run = submit_and_wait("trade_reconciliation")

    assert run.status == RunStatus.SUCCEEDED, run.error
    done.refresh_from_db()
    assert (done.status, done.filled, done.remaining) == (OrderStatus.FILLED, 5, 0)
    [corrected] = run.result["corrected"]
    assert corrected["order"] == done.pk and set(corrected["changes"]) == {"status", "filled", "remaining"}


def test_every_sweep_hands_the_freed_c_heap_back_to_the_os(paper_gateway, retention_worker, trading_enabled, monkeypatch):
    from trading.worker import retention

    calls: list[int] = []
    monkeypatch.setattr(retention, "_MALLOC_TRIM", lambda pad: calls.append(pad) or 1)
    market_buy(paper_gateway, 1)
    swept = sweep(retention_worker, window=0)
    assert swept.trades == 1 and calls == [0]  # after what it let go, with no padding kept
    sweep(retention_worker, window=0)  # nothing to let go: trimmed all the same (the heap churns between sweeps)
    assert calls == [0, 0]


def test_malloc_trim_is_a_no_op_where_there_is_none(monkeypatch):
    from trading.worker import retention

    monkeypatch.setattr(retention.sys, "platform", "darwin")
    assert retention._libc_malloc_trim() is None
    monkeypatch.setattr(retention, "_MALLOC_TRIM", None)
    assert retention.malloc_trim() is False
