"""The live activity feed never drops an entry (issue: 5 of 15 new entries missing until a reload).

Cause: the page's poll asked for entries above the highest id it had, pushes included. An entry another
process inserted first but committed after a later one was pushed sat below that cursor for good. The
page now moves its cursor only on what the server lists, and the server looks back a short window.
"""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tests.dashboard.test_browser import CHROMIUM, expect, page, web_server  # noqa: F401 - fixtures
from tests.dashboard.webserver import ROOT
from tests.harness import subprocess_env, wait_until
from trading.activity import activity_record
from trading.live import channel_message, live_group
from trading.models import ActivityEntry, ActivityKind
from trading.worker.store import activity_event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
WRITERS, PER_WRITER = 3, 25  # 75 entries: within what the page keeps (LIMITS.activity = 200)


def _sign_in(page, url):  # noqa: F811
    page.goto(f"{url}/dashboard/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password-1")
    page.click("button[type=submit]")
    expect(page.locator("#socket-state")).to_have_attribute("data-state", "ok")


def _page_ids(page) -> set[int]:  # noqa: F811
    return {int(i) for i in page.eval_on_selector_all("#activity li", "items => items.map(li => li.dataset.id)")}


def _push(entry) -> None:
    """As the worker pushes (from a thread of its own: Playwright keeps an event loop on this one)."""
    send = async_to_sync(get_channel_layer().group_send)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(send, live_group(), channel_message(activity_event(entry))).result(timeout=10)


def test_an_entry_committed_before_a_pushed_later_one_still_appears(alice, web_server, page):  # noqa: F811
    _sign_in(page, web_server.url)
    quiet = activity_record(kind=ActivityKind.INTENT_RUN, message="written by the CLI, never pushed", mode="paper")
    pushed = activity_record(kind=ActivityKind.INTENT_RUN, message="pushed by the worker", mode="paper")
    _push(pushed)
    expect(page.locator(f'#activity li[data-id="{pushed.pk}"]')).to_be_visible()
    expect(page.locator(f'#activity li[data-id="{quiet.pk}"]')).to_contain_text("never pushed")  # by the poll


def test_empty_tables_say_so_and_a_run_that_ended_before_its_answer_is_reported(alice, web_server, page):  # noqa: F811
    _sign_in(page, web_server.url)
    expect(page.locator("#positions-panel .empty-note")).to_have_text("No open positions.")
    expect(page.locator("#runs-panel .empty-note")).to_be_visible()
    page.screenshot(path=str(ROOT / "test-artifacts" / "dashboard-empty.png"), full_page=True)
    # The run form's answer can come after the run's final update (a dry run takes milliseconds): the
    # watcher then fires at once instead of waiting for an update that already came.
    outcome = page.evaluate(
        """async () => {
          const core = await import("/static/dashboard/modules/core.js");
          core.state.runs.set(987654, { id: 987654, intent: "close_all", status: "partial", error: "1 item left" });
          let seen = null;
          core.watchRun(987654, (run) => (seen = core.runOutcome(run)));
          return seen;
        }"""
    )
    assert outcome == "run #987654 close_all partial: 1 item left"


def test_bursts_from_several_processes_all_reach_the_page(alice, web_server, page):  # noqa: F811
    _sign_in(page, web_server.url)
    before = set(ActivityEntry.objects.values_list("pk", flat=True))
    writers = [
        subprocess.Popen([sys.executable, "-m", "tests.dashboard.feed_writer", f"writer-{n}", str(PER_WRITER)], cwd=ROOT, env=subprocess_env())
        for n in range(WRITERS)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0] * WRITERS
    written = set(ActivityEntry.objects.filter(mode="paper").values_list("pk", flat=True)) - before
    assert len(written) == WRITERS * PER_WRITER
    wait_until(lambda: written <= _page_ids(page), timeout=30, what="every written entry on the page")
    shown = page.eval_on_selector_all("#activity li", "items => items.map(li => Number(li.dataset.id))")
    assert shown == sorted(shown, reverse=True)  # newest first, each once
