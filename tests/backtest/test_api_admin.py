"""Backtests from the API and the admin: recorded, run as a q2 task (the cluster's job, called here as
the cluster would), progress and result readable; the result is the CLI's JSON."""

import datetime as dt
import importlib

import pytest
from django.urls import reverse

from tests.api.conftest import BearerClient
from trading.backtest.engine import BacktestSettings, backtest_run
from trading.models import Backtest, BacktestStatus, Strategy
from trading.tokens import token_create

pytestmark = pytest.mark.django_db

BODY = {"strategy": "spy_macd_vixy", "start": "2024-06-03", "end": "2024-07-31", "exposure": 0.5, "commission": "0.005"}


@pytest.fixture
def queue(monkeypatch):
    """The q2 broker: tasks queued after commit are kept, and `drain` runs them as the cluster would."""
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: queued.append((func, args)))

    def drain():
        while queued:
            func, args = queued.pop(0)
            module, name = func.rsplit(".", 1)
            getattr(importlib.import_module(module), name)(*args)

    return drain


@pytest.fixture
def bob_api(bob):
    return BearerClient(token_create(user=bob, name="bob-script")[1])


def test_a_backtest_posted_to_the_api_runs_in_the_cluster_and_reads_back_as_the_cli_prints_it(
    spy_and_vixy_daily, bob_api, queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = bob_api.post("/api/backtests", BODY, content_type="application/json")
    assert response.status_code == 202, response.json()
    queued = response.json()
    assert (queued["status"], queued["progress"], queued["result"]) == ("queued", 0.0, None)
    assert queued["settings"]["overall_exposure"] == 0.5  # the snapshot is taken at submission

    queue()
    done = bob_api.get(queued["url"]).json()

    assert done["status"] == "succeeded" and done["progress"] == 1.0
    expected = backtest_run(
        strategy="spy_macd_vixy", start=dt.date(2024, 6, 3), end=dt.date(2024, 7, 31),
        settings=BacktestSettings(exposure=0.5, commission="0.005"),
    )  # fmt: skip
    assert done["result"] == expected


def test_the_api_refuses_bad_backtests_and_records_none(db, bob_api, bob):
    unknown = bob_api.post("/api/backtests", {**BODY, "strategy": "nobody"}, content_type="application/json")
    backwards = bob_api.post("/api/backtests", {**BODY, "end": "2024-01-01"}, content_type="application/json")
    read_only = BearerClient(token_create(user=bob, name="monitor", read_only=True)[1])

    assert unknown.status_code == 422 and unknown.json()["error"] == "invalid_backtest"
    assert "unknown strategy 'nobody'" in unknown.json()["detail"]
    assert backwards.status_code == 422 and "is before the start" in backwards.json()["detail"]
    assert read_only.post("/api/backtests", BODY, content_type="application/json").status_code == 403
    assert bob_api.get("/api/backtests/999").status_code == 404
    assert not Backtest.objects.exists()


def test_missing_bars_fail_the_backtest_with_the_range_named(db, bob_api, queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        url = bob_api.post("/api/backtests", BODY, content_type="application/json").json()["url"]
    queue()

    failed = bob_api.get(url).json()
    assert failed["status"] == "failed" and "no stored TRADES bars of 1 day for SPY from 2023-" in failed["error"]


def test_the_strategy_page_has_a_backtest_button_whose_form_queues_one_and_shows_the_result(
    spy_and_vixy_daily, alice_client, queue, django_capture_on_commit_callbacks
):
    strategy = Strategy.objects.get(strategy_id="spy_macd_vixy")
    page = alice_client.get(reverse("admin:trading_strategy_change", args=[strategy.pk])).content.decode()
    assert 'id="backtest-button"' in page and "strategy=spy_macd_vixy" in page
    form = alice_client.get(reverse("admin:trading_backtest_new") + "?strategy=spy_macd_vixy&strategy_id=spy_macd_vixy")
    assert form.status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            reverse("admin:trading_backtest_new"),
            {"strategy": "spy_macd_vixy", "strategy_id": "", "start": "2024-06-03", "end": "2024-07-31", "cash": "50000",
             "exposure": "", "strategy_exposure": "", "commission": "ib-fixed", "slippage_bps": "1", "fill": "close", "every": ""},
        )  # fmt: skip
    backtest = Backtest.objects.get()
    assert response.status_code == 302 and response.url == reverse("admin:trading_backtest_change", args=[backtest.pk])
    waiting = alice_client.get(response.url).content.decode()
    assert 'id="backtest-progress"' in waiting and 'http-equiv="refresh"' in waiting

    queue()

    backtest.refresh_from_db()
    result = alice_client.get(response.url).content.decode()
    assert backtest.status == BacktestStatus.SUCCEEDED and backtest.settings["cash"] == 50000.0
    assert backtest.settings["fill"] == "close" and backtest.requested_by.username == "alice"
    assert 'id="equity"' in result and "uPlot.iife.min.js" in result and "final_equity" in result
    listing = alice_client.get(reverse("admin:trading_backtest_changelist")).content.decode()
    assert f"{backtest.result['metrics']['total_return']:+.2%}" in listing


def test_a_backtest_killed_with_its_task_reads_as_failed_with_the_reason(db, bob_api):
    from django.utils import timezone

    stuck = Backtest.objects.create(
        strategy="spy_macd_vixy", start=dt.date(2024, 1, 1), end=dt.date(2024, 2, 1), status=BacktestStatus.RUNNING,
        started_at=timezone.now() - dt.timedelta(hours=1),
    )  # fmt: skip
    fresh = Backtest.objects.create(
        strategy="spy_macd_vixy", start=dt.date(2024, 1, 1), end=dt.date(2024, 2, 1), status=BacktestStatus.RUNNING,
        started_at=timezone.now(),
    )  # fmt: skip

    answer = bob_api.get(f"/api/backtests/{stuck.pk}").json()

    assert answer["status"] == "failed" and "stopped this backtest at its 600 s timeout" in answer["error"]
    assert bob_api.get(f"/api/backtests/{fresh.pk}").json()["status"] == "running"


def test_the_list_is_newest_first_without_results_and_filters(db, bob_api):
    older = Backtest.objects.create(
        strategy="spy_macd_vixy", start=dt.date(2024, 1, 1), end=dt.date(2024, 2, 1), result={"big": 1}
    )
    newer = Backtest.objects.create(strategy="testsignalgenerator", start=dt.date(2024, 1, 1), end=dt.date(2024, 2, 1))

    page = bob_api.get("/api/backtests").json()
    only = bob_api.get("/api/backtests?strategy=spy_macd_vixy").json()

    assert [b["id"] for b in page["items"]] == [newer.pk, older.pk] and page["count"] == 2
    assert "result" not in page["items"][0]
    assert [b["id"] for b in only["items"]] == [older.pk]
