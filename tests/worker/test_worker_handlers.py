"""Handler files in the running worker: bad ones reported precisely, good ones keep running, reload."""

import textwrap

import pytest

from tests.harness import wait_until
from tests.worker.conftest import place_limit
from trading.models import ActivityEntry, ActivityKind, HandlerStat

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

GOOD = """
from trading.handlers import IBEventRegistry

SEEN = []

@IBEventRegistry.collect("orderStatus")
def remember_status(ib, trade):
    SEEN.append(trade.orderStatus.status)
"""
RAISES = """
from trading.handlers import IBEventRegistry

@IBEventRegistry.collect("orderStatusEvent")
def explode(ib, trade):
    raise RuntimeError("boom in handler")
"""
SLOW = """
import time
from trading.handlers import IBEventRegistry

@IBEventRegistry.collect("orderStatus")
def dawdle(ib, trade):
    time.sleep(0.08)  # deliberately over the 50 ms budget
"""
SYNTAX = "def broken(:\n    pass\n"
UNKNOWN_EVENT = """
from trading.handlers import IBEventRegistry

@IBEventRegistry.collect("orderStatuss")
def typo(ib, trade):
    pass
"""
WRONG_SIGNATURE = """
from trading.handlers import IBEventRegistry

@IBEventRegistry.collect("execDetails")
def too_few(ib):
    pass
"""


def write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def handler_errors():
    return list(ActivityEntry.objects.filter(kind=ActivityKind.HANDLER_ERROR).values_list("message", flat=True))


def test_bad_handler_files_are_reported_precisely_while_good_handlers_run(paper_gateway, start_worker, tmp_path):
    folder = tmp_path / "handlers"
    folder.mkdir()
    for name, text in [("a_good.py", GOOD), ("b_raises.py", RAISES), ("c_slow.py", SLOW), ("d_syntax.py", SYNTAX),
                       ("e_unknown.py", UNKNOWN_EVENT), ("f_signature.py", WRONG_SIGNATURE)]:  # fmt: skip
        write(folder, name, text)
    worker = start_worker(handler_paths=[folder])
    load_errors = " | ".join(handler_errors())
    assert "d_syntax.py:1" in load_errors
    assert "e_unknown.py:4" in load_errors and "orderStatus" in load_errors
    assert "f_signature.py:4" in load_errors

    paper_gateway.set_price("SPY", 100.0)
    place_limit(worker, "SPY", "BUY", 1, 90.0)
    good = next(h for h in worker.worker.handlers.binding.handlers if h.record.name == "remember_status")
    wait_until(lambda: good.stats.calls >= 1, what="the good handler to be called")
    worker.flush()
    errors = " | ".join(handler_errors())
    assert "explode" in errors and "b_raises.py" in errors and "RuntimeError: boom in handler" in errors
    assert "dawdle" in errors and "is slow" in errors
    assert worker.worker.synced  # the worker kept running
    wait_until(lambda: HandlerStat.objects.filter(name="explode", errors__gte=1).exists(), what="handler stats rows")
    stat = HandlerStat.objects.get(name="remember_status")
    assert stat.calls >= 1 and stat.file.endswith("a_good.py") and stat.line > 0


def test_reload_picks_up_a_new_file_without_reconnecting(paper_gateway, start_worker, tmp_path):
    folder = tmp_path / "handlers"
    folder.mkdir()
    write(folder, "a_good.py", GOOD)
    worker = start_worker(handler_paths=[folder])
    client_before = worker.worker.ib.client
    write(folder, "b_raises.py", RAISES)
    (folder / "a_good.py").unlink()

    snapshot = worker.call(worker.worker.reload_handlers())
    assert [h["name"] for h in snapshot["handlers"]] == ["explode"]
    assert worker.worker.connects == 1 and worker.worker.ib.client is client_before and worker.worker.ib.isConnected()

    paper_gateway.set_price("SPY", 100.0)
    place_limit(worker, "SPY", "BUY", 1, 90.0)
    wait_until(lambda: any("explode" in m for m in handler_errors()), what="the reloaded handler to run")


def test_the_admin_reload_button_reloads_the_running_workers_handlers(
    paper_gateway, start_worker, tmp_path, client, django_user_model
):
    from django.urls import reverse

    folder = tmp_path / "handlers"
    folder.mkdir()
    write(folder, "a_good.py", GOOD)
    worker = start_worker(handler_paths=[folder])
    loads_before = worker.worker.handlers.loads
    write(folder, "b_raises.py", RAISES)
    client.force_login(django_user_model.objects.create_superuser("alice", "a@example.com", "pw-alice-1"))

    response = client.post(reverse("admin:trading_handlerstat_reload"))

    assert response.status_code == 302
    wait_until(lambda: worker.worker.handlers.loads == loads_before + 1, what="the worker to reload")
    assert sorted(h["name"] for h in worker.worker.handlers.stats()) == ["explode", "remember_status"]
    assert worker.worker.connects == 1
