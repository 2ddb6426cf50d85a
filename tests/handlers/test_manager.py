"""HandlerManager: reload on the same IB, errors during reload, snapshots for the heartbeat."""

import asyncio
import json

import pytest

from tests.handlers.factories import make_trade, status_handler
from trading.handlers import CallbackReporter, HandlerManager


def test_reload_picks_up_a_new_file_and_drops_a_deleted_one_on_the_same_ib(ib, handlers_dir, write):
    old_file = write("old.py", status_handler("old"))
    manager = HandlerManager(ib, [handlers_dir])
    manager.reload()
    ib.orderStatusEvent.emit(make_trade(order_id=1))

    old_file.unlink()
    write("new.py", status_handler("new"))
    connected_before = ib.isConnected()
    manager.reload()
    ib.orderStatusEvent.emit(make_trade(order_id=2))

    assert ib.probe == [("old", 1), ("new", 2)]  # the old handler no longer fires
    assert manager.ib is ib and ib.isConnected() == connected_before
    assert len(ib.orderStatusEvent) == 1
    assert [row["module"].rpartition(".")[2] for row in manager.stats()] == ["new"]
    assert manager.loads == 2


def test_a_reload_with_a_broken_file_binds_the_good_ones_and_reports_the_error(ib, handlers_dir, write):
    write("good.py", status_handler("good"))
    manager = HandlerManager(ib, [handlers_dir], reporter=CallbackReporter(on_load_error=ib.probe.append))
    manager.reload()
    broken = write("broken.py", "def (:\n")

    handler_set = manager.reload()
    ib.orderStatusEvent.emit(make_trade(order_id=3))

    [error] = ib.probe[:1]
    assert error.file == str(broken) and error.line == 1
    assert ib.probe[1:] == [("good", 3)]
    assert manager.load_errors == handler_set.errors == (error,)


def test_each_reload_starts_with_fresh_stats(ib, handlers_dir, write):
    write("a.py", status_handler("a"))
    manager = HandlerManager(ib, [handlers_dir])
    manager.reload()
    ib.orderStatusEvent.emit(make_trade())

    manager.reload()

    assert manager.stats()[0]["calls"] == 0


def test_the_snapshot_is_plain_json_ready_data(ib, handlers_dir, write):
    write("a.py", status_handler("a"))
    write("b.py", "raise RuntimeError('x')\n")
    manager = HandlerManager(ib, [handlers_dir])
    manager.reload()
    ib.orderStatusEvent.emit(make_trade())

    snapshot = json.loads(json.dumps(manager.snapshot()))

    assert snapshot["bound"] is True
    assert snapshot["paths"] == [str(handlers_dir)]
    assert [row["calls"] for row in snapshot["handlers"]] == [1]
    assert set(snapshot["handlers"][0]) >= {
        "event",
        "name",
        "file",
        "line",
        "is_async",
        "calls",
        "errors",
        "slow_calls",
        "mean_ms",
        "max_ms",
        "last_error",
    }
    assert [error["error_type"] for error in snapshot["load_errors"]] == ["RuntimeError"]


def test_close_unbinds_everything(ib, handlers_dir, write):
    write("a.py", status_handler("a"))
    manager = HandlerManager(ib, [handlers_dir])
    manager.reload()

    manager.close()
    ib.orderStatusEvent.emit(make_trade())

    assert ib.probe == [] and manager.snapshot()["bound"] is False


@pytest.mark.asyncio
async def test_reload_async_loads_off_the_loop_and_swaps_on_it(ib, handlers_dir, write):
    write("a.py", status_handler("a"))
    manager = HandlerManager(ib, [handlers_dir])

    await manager.reload_async()
    ib.orderStatusEvent.emit(make_trade(order_id=5))

    assert ib.probe == [("a", 5)]


@pytest.mark.asyncio
async def test_a_task_started_before_a_reload_still_finishes_and_is_waited_for(ib, handlers_dir, write):
    ib.gate = asyncio.Event()
    write(
        "waits.py",
        """
        from trading.handlers import IBEventRegistry

        @IBEventRegistry.collect("orderStatus")
        async def waits(ib, trade):
            await ib.gate.wait()
            ib.probe.append("finished")
    """,
    )
    manager = HandlerManager(ib, [handlers_dir])
    manager.reload()
    ib.orderStatusEvent.emit(make_trade())

    manager.reload()
    assert manager.pending == 1
    ib.gate.set()

    assert await manager.drain(timeout=5)
    assert ib.probe == ["finished"] and manager.pending == 0
