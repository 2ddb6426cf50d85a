"""Handlers bound to a real ib_insync IB: arguments, failures, async tasks, slowness and stats."""

import asyncio
import logging
import sys
import time

import pytest

from tests.handlers.factories import FakeClock, collected, make_fill, make_trade
from trading.handlers import BindOptions, CallbackReporter, IBEventRegistry, bind, unbind


class Recorder(CallbackReporter):
    """A reporter that keeps what it was told, as the IB worker's would write rows."""

    def __init__(self):
        self.errors, self.slow = [], []
        super().__init__(
            on_error=lambda *args: self.errors.append(args), on_slow=lambda *args: self.slow.append(args)
        )


def test_handlers_receive_the_live_ib_then_the_event_arguments(ib):
    def define():
        @IBEventRegistry.collect("execDetails")
        def on_fill(ib, trade, fill):
            ib.probe.append((ib, trade.order.orderId, fill.execution.execId))

    bind(ib, collected(define))
    ib.execDetailsEvent.emit(make_trade(order_id=7), make_fill(exec_id="x1"))

    assert ib.probe == [(ib, 7, "x1")]


def test_a_raising_handler_is_counted_and_reported_and_the_next_handler_still_runs(ib, caplog):
    def define():
        @IBEventRegistry.collect("orderStatus")
        def explodes(ib, trade):
            raise ValueError(f"bad status for {trade.order.orderId}")

        @IBEventRegistry.collect("orderStatusEvent")
        def survives(ib, trade):
            ib.probe.append(trade.order.orderId)

    reporter = Recorder()
    binding = bind(ib, collected(define), reporter=reporter)

    with caplog.at_level(logging.ERROR, logger="trading.handlers"):
        ib.orderStatusEvent.emit(make_trade(order_id=1))
        ib.orderStatusEvent.emit(make_trade(order_id=2))

    assert ib.probe == [1, 2]
    explodes, survives = binding.stats()
    assert (explodes["calls"], explodes["errors"], survives["calls"], survives["errors"]) == (2, 2, 2, 0)
    assert explodes["last_error"]["type"] == "ValueError"
    assert explodes["last_error"]["message"] == "bad status for 2"
    assert "raise ValueError" in explodes["last_error"]["traceback"]
    [(record, exc, tb)] = reporter.errors  # the second failure is rate-limited, still counted
    assert record.name.endswith("explodes") and isinstance(exc, ValueError) and "raise ValueError" in tb
    [log] = caplog.records
    assert f"{__file__}:" in log.getMessage() and "explodes" in log.getMessage()
    assert log.exc_info[0] is ValueError


def test_reports_are_not_rate_limited_with_a_zero_interval(ib):
    def define():
        @IBEventRegistry.collect("orderStatus")
        def explodes(ib, trade):
            raise ValueError("again")

    reporter = Recorder()
    bind(ib, collected(define), reporter=reporter, report_interval=0)
    for _ in range(3):
        ib.orderStatusEvent.emit(make_trade())

    assert len(reporter.errors) == 3


def test_a_handler_that_calls_sys_exit_does_not_stop_the_others(ib):
    def define():
        @IBEventRegistry.collect("position")
        def kill_switch(ib, position):
            sys.exit("the seed's kill switch")

        @IBEventRegistry.collect("position")
        def after(ib, position):
            ib.probe.append(position)

    binding = bind(ib, collected(define))
    ib.positionEvent.emit("pos")

    assert ib.probe == ["pos"]
    assert binding.stats()[0]["last_error"]["type"] == "SystemExit"


def test_a_failing_reporter_is_logged_and_ignored(ib, caplog):
    def define():
        @IBEventRegistry.collect("orderStatus")
        def explodes(ib, trade):
            raise ValueError("x")

    def broken_reporter(*args):
        raise RuntimeError("reporter down")

    bind(ib, collected(define), reporter=CallbackReporter(on_error=broken_reporter))
    ib.orderStatusEvent.emit(make_trade())

    assert any("reporter" in record.getMessage() for record in caplog.records)


@pytest.mark.asyncio
async def test_an_async_handler_runs_as_a_task_that_is_kept_until_it_finishes(ib):
    ib.gate = asyncio.Event()

    def define():
        @IBEventRegistry.collect("barUpdate", is_async=True)
        async def on_bar(ib, bars, has_new_bar):
            await ib.gate.wait()
            ib.probe.append((bars, has_new_bar))

    binding = bind(ib, collected(define))
    ib.barUpdateEvent.emit("bars", True)

    [task] = binding.tasks  # the loop holds tasks weakly: the binding keeps a strong reference
    assert task.get_name().endswith("on_bar") and not task.done()
    ib.gate.set()
    assert await binding.drain(timeout=5)
    assert ib.probe == [("bars", True)]
    stats = binding.stats()[0]
    assert (stats["calls"], stats["completed"], stats["errors"], binding.pending) == (1, 1, 0, 0)


@pytest.mark.asyncio
async def test_an_async_handler_exception_is_logged_and_counted(ib, caplog):
    def define():
        @IBEventRegistry.collect("barUpdate")
        async def on_bar(ib, bars, has_new_bar):
            await asyncio.sleep(0)
            raise KeyError(bars)

    reporter = Recorder()
    binding = bind(ib, collected(define), reporter=reporter)
    with caplog.at_level(logging.ERROR, logger="trading.handlers"):
        ib.barUpdateEvent.emit("bars", False)
        assert await binding.drain(timeout=5)

    [stats] = binding.stats()
    assert (stats["errors"], stats["last_error"]["type"], stats["is_async"]) == (1, "KeyError", True)
    assert reporter.errors[0][0].name.endswith("on_bar")
    assert "on_bar" in caplog.records[0].getMessage()


def test_a_slow_handler_is_counted_every_time_and_reported_once_per_interval(ib, caplog):
    def define():
        @IBEventRegistry.collect("pnl")
        def slow(ib, entry):
            time.sleep(0.02)  # the handler under test is deliberately slow

    reporter = Recorder()
    binding = bind(ib, collected(define), reporter=reporter, slow_budget=0.005, report_interval=60)
    with caplog.at_level(logging.WARNING, logger="trading.handlers"):
        for _ in range(3):
            ib.pnlEvent.emit("entry")

    assert binding.stats()[0]["slow_calls"] == 3
    [(record, duration)] = reporter.slow
    assert record.name.endswith("slow") and duration >= 0.02
    [warning] = caplog.records
    assert "budget 5.0 ms" in warning.getMessage() and f"{__file__}:" in warning.getMessage()


def test_stats_keep_mean_and_max_duration(ib):
    ib.clock = FakeClock()

    def define():
        @IBEventRegistry.collect("accountValue")
        def timed(ib, value):
            ib.clock.advance(value)

    binding = bind(ib, collected(define), BindOptions(clock=ib.clock, slow_budget=0.025))
    for seconds in (0.010, 0.030, 0.020):
        ib.accountValueEvent.emit(seconds)

    [stats] = binding.stats()
    assert (stats["calls"], stats["mean_ms"], stats["max_ms"], stats["slow_calls"]) == (3, 20.0, 30.0, 1)
    assert stats["event"] == "accountValue" and stats["line"] > 0 and stats["file"] == __file__


@pytest.mark.asyncio
async def test_async_durations_are_measured_to_completion(ib):
    ib.clock = FakeClock()
    ib.gate = asyncio.Event()

    def define():
        @IBEventRegistry.collect("pnlSingle")
        async def waits(ib, entry):
            await ib.gate.wait()

    binding = bind(ib, collected(define), clock=ib.clock)
    ib.pnlSingleEvent.emit("entry")
    ib.clock.advance(0.5)
    ib.gate.set()
    await binding.drain(timeout=5)

    assert binding.stats()[0]["max_ms"] == 500.0


def test_unbind_stops_delivery(ib):
    def define():
        @IBEventRegistry.collect("newOrder")
        def on_new(ib, trade):
            ib.probe.append(trade)

    binding = bind(ib, collected(define))
    unbind(binding)
    unbind(binding)  # twice is harmless
    ib.newOrderEvent.emit("trade")

    assert ib.probe == []
    assert len(ib.newOrderEvent) == 0


@pytest.mark.asyncio
async def test_a_plain_function_that_returns_a_coroutine_is_awaited_as_a_kept_task(ib):
    async def later(ib, value):
        ib.probe.append(value)

    def define():
        @IBEventRegistry.collect("tickNews")
        def hands_off(ib, news):
            return later(ib, news)

    binding = bind(ib, collected(define))
    ib.tickNewsEvent.emit("headline")

    assert binding.pending == 1
    assert await binding.drain(timeout=5)
    assert ib.probe == ["headline"] and binding.stats()[0]["completed"] == 1
