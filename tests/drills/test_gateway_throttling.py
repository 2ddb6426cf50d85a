"""Drills: IB's pacing violation (162: waited out, then asked again) and its message-rate cut-off (error 100
and a dropped socket: the worker reconnects with back-off)."""

import pytest

from tests.drills.conftest import assert_ledger_matches_gateway, submit
from tests.harness import wait_until
from tests.worker.conftest import place_limit
from trading.intents import strategy
from trading.intents.runs import run_wait
from trading.models import ActivityEntry, ActivityKind, RunStatus

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.drill]


def test_a_pacing_violation_is_waited_out_and_the_request_asked_again(paper_gateway, drill_worker, monkeypatch):
    monkeypatch.setattr(strategy, "PACING_BACKOFF", (0.5, 0.5))
    paper_gateway.inject_pacing_violation(2)

    run = run_wait(submit({"symbol": "SPY"}, intent="drill_history").pk, timeout=30)

    assert run.status == RunStatus.SUCCEEDED and run.result["bars"] > 0, run.error
    assert ActivityEntry.objects.filter(kind=ActivityKind.IB_ERROR, payload__code=162).count() == 2
    waits = list(
        ActivityEntry.objects.filter(run=run, message__contains="pacing violation")
        .order_by("id")
        .values_list("message", flat=True)
    )
    assert [w.rsplit("(", 1)[1] for w in waits] == ["attempt 1)", "attempt 2)"] and "asking again in 0.5 s" in waits[0]
    assert drill_worker.worker.connects == 1 and drill_worker.worker.synced  # the connection was never at risk


def test_a_pacing_violation_that_outlasts_the_back_off_fails_the_run_clearly(paper_gateway, drill_worker, monkeypatch):
    monkeypatch.setattr(strategy, "PACING_BACKOFF", (0.2,))
    paper_gateway.inject_pacing_violation(2)

    refused = run_wait(submit({"symbol": "SPY"}, intent="drill_history").pk, timeout=30)
    served = run_wait(submit({"symbol": "SPY"}, intent="drill_history").pk, timeout=30)

    assert refused.status == RunStatus.FAILED
    assert refused.error.endswith("still a pacing violation after 2 tries over 0.2 s"), refused.error
    assert "IB returned no 1 hour bars for SPY (2 D)" in refused.error
    assert served.status == RunStatus.SUCCEEDED and served.result["bars"] > 0  # the next request is served


def test_the_message_rate_cut_off_drops_the_worker_which_backs_off_and_recovers_with_nothing_lost(paper_gateway, drill_worker):
    paper_gateway.set_tick_interval(0)
    paper_gateway.set_price("GLD", 100.0)
    place_limit(drill_worker, "GLD", "BUY", 5, 99.0, owner="drill")
    wait_until(lambda: len(paper_gateway.open_orders()) == 1, what="the resting order")

    # A limit below what a (re)connect sends: each sync trips it (error 100, socket dropped).
    paper_gateway.set_message_rate_limit(3)
    paper_gateway.drop_connections()
    wait_until(lambda: drill_worker.worker.backoff.attempt >= 3, timeout=30, what="repeated cut-offs, retried with backoff")
    paper_gateway.set_price("GLD", 98.0)  # fills while the worker is cut off
    assert drill_worker.worker.synced is False

    paper_gateway.set_message_rate_limit(None)
    connects = drill_worker.worker.connects
    wait_until(lambda: drill_worker.worker.connects > connects and drill_worker.worker.synced, timeout=30, what="recovery")
    drill_worker.flush()
    assert_ledger_matches_gateway(paper_gateway)
    story = " | ".join(ActivityEntry.objects.order_by("id").values_list("message", flat=True))
    assert "connection to the gateway lost" in story and "1 fill(s) recovered" in story
