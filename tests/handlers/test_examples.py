"""The example handlers in the project's handlers/ folder load cleanly and do their job on a real IB."""

import csv
import datetime as dt
import logging
import sys

import pytest
from ib_insync import BarData, BarDataList, CommissionReport, RealTimeBar, RealTimeBarList, Stock

from tests.handlers.factories import make_fill, make_trade
from trading.handlers import bind, load_handlers


@pytest.fixture
def examples():
    """The project's handlers, found by default discovery (IB_DAEMON_HANDLERS is unset here)."""
    handler_set = load_handlers()
    assert handler_set.errors == ()
    return handler_set


def test_the_examples_load_cleanly_with_default_discovery(examples):
    found = {
        (record.module.rpartition(".")[2], record.event, record.is_async) for record in examples.handlers
    }

    assert found == {
        ("order_status_log", "orderStatus", False),
        ("fills_summary", "execDetails", False),
        ("fills_summary", "commissionReport", False),
        ("bar_logger", "barUpdate", True),
    }


def test_order_status_changes_are_logged(ib, examples, caplog):
    binding = bind(ib, examples)
    trade = make_trade(order_id=11, symbol="MSFT", status="Filled")

    with caplog.at_level(logging.INFO, logger="ibhandlers"):
        ib.orderStatusEvent.emit(trade)

    assert all(row["errors"] == 0 for row in binding.stats())
    [message] = [record.getMessage() for record in caplog.records if "order 11" in record.getMessage()]
    assert "MSFT" in message and "Filled" in message and "0 order(s) working" in message


def test_fill_totals_count_each_execution_once(ib, examples, caplog):
    bind(ib, examples)
    trade = make_trade()
    with caplog.at_level(logging.INFO, logger="ibhandlers"):
        ib.execDetailsEvent.emit(trade, make_fill("e1", side="BOT", shares=10, price=100.0))
        ib.execDetailsEvent.emit(trade, make_fill("e1", side="BOT", shares=10, price=100.0))  # re-delivered
        ib.execDetailsEvent.emit(trade, make_fill("e2", side="SLD", shares=4, price=110.0))
        ib.commissionReportEvent.emit(trade, make_fill("e2"), CommissionReport(execId="e2", commission=1.25))

    fills_summary = sys.modules["ibhandlers.handlers.fills_summary"]
    assert fills_summary.summary_line("AAPL") == (
        "AAPL: 2 fill(s), bought 10, sold 4, net +6, cash -560.00, commission 1.25"
    )
    assert sum("fills AAPL" in record.getMessage() for record in caplog.records) == 2


@pytest.mark.asyncio
async def test_completed_bars_are_logged_and_written_to_csv(ib, examples, tmp_path, monkeypatch):
    monkeypatch.setenv("BAR_LOG_DIR", str(tmp_path))
    binding = bind(ib, examples)
    bars = RealTimeBarList()
    bars.contract = Stock("SPY", "ARCA", "USD")
    bars.append(
        RealTimeBar(
            time=dt.datetime(2024, 5, 1, 14, 30), open_=500.0, high=501.0, low=499.5, close=500.5, volume=1200
        )
    )

    ib.barUpdateEvent.emit(bars, True)
    assert await binding.drain(timeout=5)

    with (tmp_path / "SPY.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert rows == [
        {
            "time": "2024-05-01 14:30:00",
            "open": "500.0",
            "high": "501.0",
            "low": "499.5",
            "close": "500.5",
            "volume": "1200",
        }
    ]
    assert all(row["errors"] == 0 for row in binding.stats())


@pytest.mark.asyncio
async def test_an_updating_historical_bar_is_not_logged_until_it_completes(
    ib, examples, tmp_path, monkeypatch
):
    monkeypatch.setenv("BAR_LOG_DIR", str(tmp_path))
    binding = bind(ib, examples)
    bars = BarDataList()
    bars.contract = Stock("QQQ", "NASDAQ", "USD")
    bars.append(BarData(date=dt.datetime(2024, 5, 1, 14, 30), open=1, high=2, low=0.5, close=1.5, volume=10))

    ib.barUpdateEvent.emit(bars, False)  # the last bar changed: nothing completed
    bars.append(
        BarData(date=dt.datetime(2024, 5, 1, 15, 0), open=1.5, high=1.5, low=1.5, close=1.5, volume=1)
    )
    ib.barUpdateEvent.emit(bars, True)  # a new bar started: the previous one is complete
    assert await binding.drain(timeout=5)

    rows = (tmp_path / "QQQ.csv").read_text().splitlines()
    assert rows[1:] == ["2024-05-01 14:30:00,1,2,0.5,1.5,10"]
