"""`manage.py order`: one order from a shell, with runintent's dry-run rules and exit codes.

The worker is played here: a run is finished with `run_finish_now`, and the command asked again with the
same idempotency key reports it (the same run, never a second one).
"""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.api.conftest import run_finish_now
from tests.api.factories import order_make
from trading.config import effective_config
from trading.intents import registry
from trading.management.commands.runintent import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_TIMEOUT,
    EXIT_UNKNOWN,
    EXIT_WORKER,
)
from trading.models import IntentRun, OrderStatus, RunSource, RunStatus, WorkerHeartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_worker(db) -> WorkerHeartbeat:
    """A connected heartbeat (as tests/api's fixture): the submission path sees a live worker."""
    return WorkerHeartbeat.objects.create(name="ibworker", connected=True, updated_at=timezone.now(), mode="paper")


def order(*args: str) -> tuple[int, str]:
    """Run `manage.py order …` without waiting (`--wait 0`); the exit code and what it printed."""
    out = StringIO()
    try:
        call_command("order", *args, "--wait", "0", stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, str(exc)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return EXIT_OK, out.getvalue()


def test_a_limit_buy_is_submitted_as_place_order_and_says_it_is_a_dry_run(live_worker):
    code, output = order("buy", "10", "AAPL", "--limit", "190.5", "--tif", "GTC", "--dry-run")
    run = IntentRun.objects.get()
    assert code == EXIT_TIMEOUT, "not finished yet: nobody plays the worker in this test"
    assert (run.intent, run.source, run.dry_run) == ("place_order", RunSource.CLI, True)
    assert "dry run: nothing is sent (--dry-run)" in output
    params = run.params
    assert (params["symbol"], params["action"], params["order_type"], params["tif"]) == ("AAPL", "BUY", "LMT", "GTC")
    assert (float(params["quantity"]), float(params["limit_price"])) == (10, 190.5)


def test_with_neither_flag_the_dry_run_default_setting_decides_and_the_output_says_so(live_worker):
    _, output = order("sell", "5", "MSFT")
    assert IntentRun.objects.get().dry_run == effective_config().dry_run_default
    assert "(the dry_run_default setting)" in output


@pytest.mark.parametrize(
    ("options", "order_type"),
    [(("--stop", "180"), "STP"), (("--stop", "180", "--limit", "179"), "STP LMT"), (("--trail-percent", "2"), "TRAIL")],
)
def test_the_order_type_follows_the_prices_given(live_worker, options, order_type):
    order("sell", "10", "AAPL", *options, "--live")
    assert order_type in IntentRun.objects.get().params.values()


def test_a_bracket_and_a_cash_size_are_passed_to_the_intent(live_worker):
    order("buy", "AAPL", "--notional", "5000", "--stop-loss", "180", "--take-profit", "200", "--strategy", "swing")
    params = IntentRun.objects.get().params
    assert [float(params[k]) for k in ("notional", "stop_loss", "take_profit")] == [5000, 180, 200]
    assert params["strategy"] == "swing" and "quantity" not in params


@pytest.mark.parametrize(
    ("status", "code"),
    [(RunStatus.SUCCEEDED, EXIT_OK), (RunStatus.FAILED, EXIT_FAILED), (RunStatus.PARTIAL, EXIT_PARTIAL)],
)
def test_the_exit_code_is_the_run_outcome_and_the_orders_are_printed(live_worker, status, code):
    args = ("buy", "10", "AAPL", "--limit", "190.5", "--live", "--idempotency-key", "cli-1")
    order(*args)
    run = IntentRun.objects.get()
    order_make(symbol="AAPL", run=run, order_type="LMT", lmt_price="190.5", total_quantity="10")
    run_finish_now(run.pk, status=status, result={"orders": []})
    again, output = order(*args)
    assert again == code and IntentRun.objects.count() == 1
    assert "BUY 10 AAPL LMT @ 190.5 DAY [Submitted]" in output


@pytest.mark.parametrize(
    "args",
    [
        ("buy", "AAPL"),  # no size
        ("buy", "ten", "AAPL"),  # the intent's schema refuses it
        ("buy", "10", "AAPL", "--type", "LIMIT"),
        ("buy", "10", "AAPL", "--quantity", "3"),  # a modify option
        ("cancel", "1", "--limit", "3"),
        ("modify", "abc", "--limit", "3"),
    ],
)
def test_bad_input_exits_2_and_submits_nothing(live_worker, args):
    code, _ = order(*args)
    assert code == EXIT_BAD_INPUT and not IntentRun.objects.exists()


def test_with_the_worker_down_it_exits_4(db):
    assert order("buy", "10", "AAPL")[0] == EXIT_WORKER


def test_without_the_place_order_intent_it_exits_3(live_worker, monkeypatch):
    monkeypatch.delitem(registry._registry, "place_order")
    assert order("buy", "10", "AAPL")[0] == EXIT_UNKNOWN


def test_modify_submits_modify_order_for_the_row(live_worker):
    row = order_make(symbol="AAPL", order_type="LMT")
    order("modify", str(row.pk), "--limit", "191")
    run = IntentRun.objects.get()
    assert run.intent == "modify_order" and run.params["order"] == row.pk and float(run.params["limit_price"]) == 191


def test_cancel_is_live_unless_asked_for_a_dry_run(live_worker):
    row = order_make(symbol="AAPL")
    _, output = order("cancel", str(row.pk))
    run = IntentRun.objects.get()
    assert (run.intent, run.params["order"], run.dry_run) == ("cancel_order", row.pk, False)
    assert "live: sent to IB (a cancel is live unless --dry-run)" in output


@pytest.mark.parametrize("verb", ["modify", "cancel"])
def test_an_unknown_or_finished_order_exits_2(live_worker, verb):
    done = order_make(status=OrderStatus.FILLED)
    assert order(verb, "999999", "--limit", "1")[0] == EXIT_BAD_INPUT
    code, message = order(verb, str(done.pk), *(("--limit", "1") if verb == "modify" else ()))
    assert code == EXIT_BAD_INPUT and "Filled" in message
    assert not IntentRun.objects.exists()
