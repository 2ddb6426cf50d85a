"""The Intent schedule page and the dashboard's clock in a real browser (Debian's Chromium, Playwright)
against the real web process (daphne). Leaves a screenshot of the schedule page in /tmp/schedule.png."""

import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django_q.models import Schedule

from tests.dashboard.webserver import WebServer
from tests.harness import browser_session_end
from trading.models import ActivityEntry

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
SCREENSHOT = Path("/tmp/schedule.png")
WAIT_MS = 20_000

playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is pinned in requirements.txt")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="needs Debian's chromium"),
]
expect = playwright.expect


@pytest.fixture
def web_server(redis_url, transactional_db, tmp_path):
    server = WebServer(log_path=tmp_path / "web.log").start()
    yield server
    server.stop()


@pytest.fixture
def page(web_server, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM checks on Playwright's thread are safe here
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1000}, timezone_id="Asia/Tokyo")
        page.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)
        yield page
        browser.close()
        browser_session_end()


def test_a_trader_schedules_an_intent_with_fields_and_sees_its_next_runs(alice, web_server, page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{web_server.url}/admin/login/?next=/admin/django_q/schedule/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password-1")
    page.click("input[type=submit]")
    page.click("#schedule-intent")  # "Schedule an intent…" on the schedule list

    page.select_option("#id_pick_intent", "allocation")  # the page reloads with allocation's fields
    expect(page.locator("#id_param_freshMinutes")).to_be_visible()
    page.fill("#id_name", "morning allocation")
    page.fill("#id_param_freshMinutes", "30")
    page.fill("#id_param_strategies", "spy_macd_vixy")
    page.fill("#id_cron", "0 10 * * 1-5")
    page.check("#id_enabled")
    page.click("#schedule-form input[type=submit]")

    expect(page.locator("#next-runs li")).to_have_count(5)
    runs = page.locator("#next-runs li").all_inner_texts()
    assert all(" 10:00 E" in when for when in runs), runs  # 10:00 New York (EST/EDT), not the browser's Tokyo
    expect(page.locator("#display-zone")).to_contain_text("America/New_York")
    expect(page.locator("#schedule-disable")).to_be_visible()
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    schedule = Schedule.objects.get(name="morning allocation")
    assert schedule.cron == "0 10 * * 1-5" and "'strategies': ['spy_macd_vixy']" in schedule.kwargs

    # The dashboard shows the schedule's activity entry at New York time, whatever the browser's zone.
    entry = ActivityEntry.objects.filter(message__contains="morning allocation").latest("pk")
    page.goto(f"{web_server.url}/dashboard/")
    expect(page.locator("#time-zone")).to_contain_text("America/New_York")
    shown = entry.created_at.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M:%S %Z")
    expect(page.locator(f'#activity li[data-id="{entry.pk}"] time')).to_have_text(shown)
    assert errors == []
