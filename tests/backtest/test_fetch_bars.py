"""fetch_bars on the paper gateway: the worker fetches what the store lacks, holes are asked again, and
`manage.py backtest --fetch` gets its missing bars through it (or says which are missing and why not)."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.intents.conftest import submit_and_wait
from trading.backtest.bars import bars_missing
from trading.intents.builtin import fetch_bars
from trading.models import Bar, RunStatus

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.paper_gateway(tick_interval=0)]

FIRST, LAST = dt.date(2025, 3, 3), dt.date(2025, 6, 27)  # 85 weekdays
KEY = {"symbol": "SPY", "bar_size": "1 day", "what_to_show": "TRADES"}


@pytest.fixture(autouse=True)
def no_pause(monkeypatch):
    monkeypatch.setattr(fetch_bars, "PACE_SECONDS", 0.0)


def fetch(**params):
    return submit_and_wait(
        "fetch_bars", {"symbol": "SPY", "start": FIRST.isoformat(), "end": LAST.isoformat(), **params}, dry_run=False
    )


def test_it_stores_every_session_of_the_range_and_asks_only_for_holes_later(paper_gateway, console_worker):
    run = fetch()

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["stored"] == Bar.objects.filter(symbol="SPY").count() == 85
    assert run.result["still_missing"] == [] and bars_missing(**KEY, first=FIRST, last=LAST) == []
    Bar.objects.filter(symbol="SPY", start__date__range=(dt.date(2025, 4, 8), dt.date(2025, 4, 10))).delete()

    again = fetch()

    assert again.status == RunStatus.SUCCEEDED, again.error
    assert (again.result["stored"], again.result["requests"]) == (3, 1)
    assert Bar.objects.filter(symbol="SPY").count() == 85


def test_bad_parameters_are_refused_before_anything_runs(paper_gateway, console_worker):
    from trading.intents.runs import IntentParamsInvalid, run_submit

    with pytest.raises(IntentParamsInvalid, match="end 2025-01-01 is before start 2025-02-01"):
        run_submit(intent="fetch_bars", params={"symbol": "SPY", "start": "2025-02-01", "end": "2025-01-01"}, source="cli")
    with pytest.raises(IntentParamsInvalid, match="barSize: one of"):
        run_submit(
            intent="fetch_bars",
            params={"symbol": "SPY", "start": "2025-02-01", "end": "2025-03-01", "barSize": "7 mins"},
            source="cli",
        )


def test_backtest_fetch_gets_the_missing_bars_through_the_worker(paper_gateway, console_worker):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "backtest",
        "spy_macd_vixy",
        "--start",
        "2025-05-01",
        "--end",
        "2025-05-30",
        "--fetch",
        "--json",
        "--no-progress",
        stdout=out,
        stderr=err,
    )

    result = json.loads(out.getvalue())
    assert "asking the IB worker for SPY 1 day TRADES bars" in err.getvalue()
    assert "asking the IB worker for VIXY 1 day TRADES bars" in err.getvalue()
    assert result["metrics"]["failed_steps"] == 0 and len(result["equity"]) == 22


def test_backtest_fetch_without_a_worker_names_the_missing_bars(db):
    with pytest.raises(CommandError, match=r"no stored TRADES bars of 1 day for SPY from .* IB worker is not connected"):
        call_command("backtest", "spy_macd_vixy", "--start", "2025-05-01", "--end", "2025-05-30", "--fetch", "--no-progress")
