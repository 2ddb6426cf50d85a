"""The recorder's batching: coalescing and merging, the batch cache, and a bad event set aside alone."""

import asyncio
import contextlib
import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.worker.test_store import fill_snap, order_snap
from trading.models import AccountValue, ActivityEntry, Fill, Holding, Order
from trading.worker.lease import LeaseLost
from trading.worker.recorder import Op, Recorder, coalesce
from trading.worker.store import (
    account_value_upsert,
    account_values_upsert,
    batch_scope,
    commission_record,
    fill_record,
    order_upsert,
)


def value(tag, amount, currency="USD"):
    return {"mode": "paper", "snap": {"account": "DU1", "tag": tag, "currency": currency, "value": amount}}


def test_coalescing_keeps_the_first_place_and_the_last_data_and_merging_groups_ops_into_one():
    first = Op(order_upsert, {"snap": {"status": "Submitted"}}, key=("order", 1, 7))
    fill = Op(fill_record, {"snap": {"exec_id": "x"}})
    last = Op(order_upsert, {"snap": {"status": "Filled"}}, key=("order", 1, 7))
    cash = Op(account_value_upsert, value("CashBalance", "1"), key=("av", "CashBalance"), merge=account_values_upsert)
    net = Op(account_value_upsert, value("NetLiquidation", "2"), key=("av", "NetLiquidation"), merge=account_values_upsert)
    cash_again = Op(account_value_upsert, value("CashBalance", "3"), key=("av", "CashBalance"), merge=account_values_upsert)

    out = coalesce([first, cash, fill, last, net, cash_again])

    assert [op.apply for op in out] == [order_upsert, account_values_upsert, fill_record]
    assert out[0].kwargs["snap"]["status"] == "Filled"
    assert [item["snap"]["value"] for item in out[1].kwargs["items"]] == ["3", "2"]


@pytest.mark.django_db
def test_account_values_are_upserted_in_one_statement_and_the_last_one_wins():
    account_values_upsert(items=[value("CashBalance", "100"), value("NetLiquidation", "200")])
    with CaptureQueriesContext(connection) as queries:
        events = account_values_upsert(
            items=[value("CashBalance", "150"), value("CashBalance", "175"), value("BuyingPower", "9")]
        )
    assert len(queries) == 1
    assert dict(AccountValue.objects.values_list("tag", "value")) == {
        "CashBalance": "175",
        "NetLiquidation": "200",
        "BuyingPower": "9",
    }
    assert [e["payload"]["value"] for e in events] == ["150", "175", "9"]


@pytest.mark.django_db
def test_in_a_batch_an_orders_statuses_fill_and_commission_cost_one_lookup_each_and_record_the_same_rows():
    order_upsert(mode="paper", snap=order_snap(perm_id=555, status="PreSubmitted"))
    ops = [
        (order_upsert, {"mode": "paper", "snap": order_snap(perm_id=555, status="Submitted")}),
        (order_upsert, {"mode": "paper", "snap": order_snap(perm_id=555, status="Filled", filled="10", remaining="0")}),
        (fill_record, {"mode": "paper", "snap": fill_snap()}),
        (commission_record, {"mode": "paper", "snap": {"exec_id": "0001.01", "commission": "1.25", "commission_currency": "USD", "realized_pnl": "0"}}),
    ]  # fmt: skip
    events = []
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), batch_scope([kw for _, kw in ops]):
        for apply, kwargs in ops:
            result = apply(**kwargs)
            events += result[0] if isinstance(result, tuple) else result

    def touching(verb, table):
        return [q for q in queries if q["sql"].startswith(verb) and f'"{table}"' in q["sql"].split("WHERE")[0]]

    assert (len(touching("SELECT", "trading_order")), len(touching("SELECT", "trading_fill"))) == (1, 1)
    assert len(touching("INSERT", "trading_activityentry")) == 1  # "filled" and the fill: one statement
    order, fill = Order.objects.get(), Fill.objects.get()
    assert (order.status, order.filled, fill.order_id, fill.commission) == ("Filled", 10, order.pk, 1.25)
    shown = {e["payload"]["id"]: e["payload"]["message"] for e in events if e["type"] == "activity.new"}
    assert shown == dict(ActivityEntry.objects.filter(pk__in=shown).values_list("pk", "message")) and len(shown) == 2


@pytest.mark.django_db
def test_a_burst_of_1200_order_events_in_one_batch_is_read_up_front_in_one_short_query():
    """A reconnect's burst: one prefetch per table however many orders (an OR per order would pass
    SQLite's 1,000-deep expression limit)."""
    ops = [{"mode": "paper", "snap": order_snap(order_id=n, perm_id=10_000 + n)} for n in range(1, 1201)]
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), batch_scope(ops):
        for kwargs in ops[:600]:
            order_upsert(**kwargs)
    with CaptureQueriesContext(connection) as again, transaction.atomic(), batch_scope(ops):
        for kwargs in ops:
            order_upsert(**{**kwargs, "snap": {**kwargs["snap"], "status": "Filled"}})

    def order_reads(captured):
        return [q for q in captured if q["sql"].startswith("SELECT") and '"trading_order"' in q["sql"].split("WHERE")[0]]

    assert len(order_reads(queries)) == 1 and len(order_reads(again)) == 1
    assert Order.objects.count() == 1200 and not Order.objects.exclude(status="Filled").exists()


@pytest.mark.django_db
def test_a_strategys_holding_moved_by_a_batch_of_fills_is_written_once_at_the_end():
    from trading.orderref import order_ref_build

    ref = order_ref_build(owner="testsignalgenerator", run_id=1)
    ops = [
        {"mode": "paper", "snap": fill_snap(exec_id=f"x{n}", order_ref=ref, shares="10", price=str(100 + n))} for n in range(3)
    ]
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), batch_scope(ops):
        for kwargs in ops:
            fill_record(**kwargs)
    writes = [q for q in queries if q["sql"].startswith(("INSERT", "UPDATE")) and '"trading_holding"' in q["sql"].split("(")[0]]
    assert len(writes) == 2  # created by the first fill, updated once when the batch ends
    holding = Holding.objects.get()
    assert (holding.quantity, holding.avg_cost) == (30, 101)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_bad_event_in_a_batch_is_set_aside_and_the_rest_written_once_without_the_rolled_back_rows(tmp_path):
    published = []
    dead = tmp_path / "dead.jsonl"

    def explode(*, mode, snap):
        raise ValueError("not a number: 'abc'")

    async def scenario():
        recorder = Recorder(publish=published.append, dead_letter_path=dead, batch_scope=batch_scope)
        recorder.start()
        # queued before the writer runs: one batch, whose transaction the bad op rolls back
        recorder.submit(order_upsert, mode="paper", snap=order_snap(perm_id=555))
        recorder.submit(explode, mode="paper", snap={"exec_id": "bad"})
        recorder.submit(fill_record, mode="paper", snap=fill_snap())
        await recorder.stop()
        return recorder.stats

    stats = asyncio.run(scenario())

    assert Order.objects.count() == 1 and Fill.objects.get().order == Order.objects.get()
    assert stats.dead_letters == 1 and stats.batches == 1
    kept = [json.loads(line) for line in dead.read_text().splitlines()]
    assert [(k["op"], k["error"]) for k in kept] == [("explode", "ValueError(\"not a number: 'abc'\")")]
    assert {e["type"] for e in published} >= {"order.status", "fill.new"}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_database_thread_keeps_its_connection_from_one_batch_to_the_next():
    """(The database dropping it is the outage drill's part: tests/drills/test_outages.py.)"""
    from concurrent.futures import ThreadPoolExecutor

    from trading.worker.dbconn import connection_refresh

    def batch():
        connection_refresh()
        Order.objects.count()
        return id(connection.connection)

    with ThreadPoolExecutor(max_workers=1) as thread:
        first, second = thread.submit(batch).result(), thread.submit(batch).result()
        thread.submit(lambda: connection.close()).result()
    assert first == second


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_debug_on_a_worker_database_thread_does_not_keep_every_query_it_ran(settings):
    """Django empties the query log when a request starts: the worker's threads serve none."""
    from concurrent.futures import ThreadPoolExecutor

    from trading.worker.dbconn import connection_refresh

    settings.DEBUG = True

    def batch():
        connection_refresh()
        for _ in range(5):
            Order.objects.count()
        return len(connection.queries)

    with ThreadPoolExecutor(max_workers=1) as thread:
        logged = [thread.submit(batch).result() for _ in range(3)]
        thread.submit(lambda: connection.close()).result()
    assert logged == [5, 5, 5]  # each batch's own queries, not 5, 10, 15


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_written_through_returns_under_a_steady_stream_once_every_earlier_op_is_written(tmp_path):
    written: list[int] = []

    def note(*, n: int) -> list:
        written.append(n)
        return []

    async def scenario():
        recorder = Recorder(publish=lambda event: None, dead_letter_path=tmp_path / "dead.jsonl")
        recorder.start()
        submitted = 0

        async def produce():
            nonlocal submitted
            while True:  # never an empty queue for long: flush() may wait for ever, written_through() must not
                recorder.submit(note, n=submitted)
                submitted += 1
                await asyncio.sleep(0)

        producer = asyncio.create_task(produce())
        await asyncio.sleep(0.05)
        before = submitted
        await asyncio.wait_for(recorder.written_through(), 10)
        done = list(written)
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
        await recorder.stop()
        return before, done

    before, done = asyncio.run(scenario())

    assert before > 0 and done[:before] == list(range(before))  # every earlier op, in order


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_lag_is_the_age_of_the_oldest_unwritten_event_and_writes_are_counted_by_op(tmp_path):
    """What /metrics reports as recorder lag (trading/observability/worker.py): it grows while the
    database refuses the batch, and is back to 0 once the batch is written."""
    from django.db import OperationalError

    database_down = True

    def note(*, n: int) -> list:
        if database_down:
            raise OperationalError("database is locked")
        return []

    async def scenario():
        nonlocal database_down
        loop = asyncio.get_running_loop()
        recorder = Recorder(publish=lambda event: None, dead_letter_path=tmp_path / "dead.jsonl")
        recorder.start()
        idle = recorder.lag_seconds()
        recorder.submit(note, n=1)
        deadline = loop.time() + 5
        while recorder.lag_seconds() < 0.3:  # poll: retried every 0.2 s, then 0.4 s, …
            assert loop.time() < deadline, "the lag did not grow while the database was down"
            await asyncio.sleep(0.02)
        database_down = False
        await asyncio.wait_for(recorder.flush(), 5)
        written = recorder.lag_seconds()
        await recorder.stop()
        return idle, written, dict(recorder.written_ops), recorder.stats.retries

    idle, written, ops, retries = asyncio.run(scenario())
    assert idle == 0 and written == 0
    assert ops == {"note": 1} and retries >= 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_batch_still_being_retried_when_the_recorder_stops_is_kept_on_disk_with_its_error(tmp_path):
    dead = tmp_path / "dead.jsonl"

    def refused(*_items, **_kwargs):
        raise LeaseLost("client id 1: lease token 1 is no longer current")  # what a fenced-out worker gets

    async def scenario():
        recorder = Recorder(publish=lambda event: None, dead_letter_path=dead, batch_scope=contextlib.contextmanager(refused))
        recorder.start()
        recorder.submit(fill_record, mode="paper", snap=fill_snap())
        await recorder.stop(timeout=0.5)  # retries 0.2 s, 0.4 s…: stopped while waiting to retry

    asyncio.run(scenario())

    kept = [json.loads(line) for line in dead.read_text().splitlines()]
    assert [(k["op"], k["kwargs"]["snap"]["exec_id"]) for k in kept] == [("fill_record", fill_snap()["exec_id"])]
    assert "lease token 1 is no longer current" in kept[0]["error"]
    assert not Fill.objects.exists()
