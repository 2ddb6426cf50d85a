"""The admin's record lists in a real browser at 1280 px (headless Chromium, the real web process):
every column fits without scrolling sideways, and "Export CSV" downloads every row through daphne.

Leaves screenshots in test-artifacts/admin-orders.png and test-artifacts/admin-runs.png.
"""

import csv
import io
from datetime import timedelta

import pytest

from tests.api.factories import fill_make, order_make, run_make
from tests.dashboard.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS
from tests.dashboard.webserver import ROOT, WebServer
from tests.harness import browser_session_end
from trading.activity import activity_record
from trading.models import ActivityKind, IntentRun, Order, OrderStatus

playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is pinned in requirements.txt")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
expect = playwright.expect
ARTIFACTS = ROOT / "test-artifacts"
WIDTH = 1280


@pytest.fixture
def web_server(redis_url, transactional_db, tmp_path):
    server = WebServer(log_path=tmp_path / "web.log").start()
    yield server
    server.stop()


@pytest.fixture
def page(web_server, alice, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API keeps a loop on this thread
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": WIDTH, "height": 900}, accept_downloads=True)
        page.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)
        page.goto(f"{web_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "alice-password-1")
        page.click("input[type=submit], button[type=submit]")
        expect(page.locator("#site-name")).to_be_visible()
        yield page
        browser.close()
        browser_session_end()


def busy_day():
    """A day's worth of realistic rows: runs from several sources, orders of every type, fills."""
    for n in range(30):
        run = run_make(
            intent="orchestrator" if n % 2 else "trade_reconciliation", status="succeeded", source="schedule",
            params={"strategies": ["spy_macd_vixy"]}, result={"sent": n},
        )  # fmt: skip
        IntentRun.objects.filter(pk=run.pk).update(started_at=run.created_at, finished_at=run.created_at + timedelta(seconds=n))
        order_make(
            symbol="VIXY", action="SELL", total_quantity="1250", strategy="spy_macd_vixy", order_type="STP LMT",
            lmt_price="450.125000", aux_price="451.500000", status=OrderStatus.PRE_SUBMITTED, run=run,
            order_ref=f"console:spy_macd_vixy:{run.pk}:abcdef", filled="125", avg_fill_price="450.123400",
        )  # fmt: skip
        activity_record(
            kind=ActivityKind.ORDER, message=f"sending: SELL 1250 VIXY STP LMT 450.125 451.5 for run #{run.pk}", run=run
        )
        fill_make(
            symbol="VIXY", side="SELL", shares="125", strategy="spy_macd_vixy", run=run, commission="1.250000",
            order=Order.objects.filter(run=run).first(),
        )  # fmt: skip


def fits_the_screen(page) -> None:
    """No column pushed off: the results table is no wider than its box, and the page no wider than the window."""
    results = page.locator("#changelist .results")
    overflow = results.evaluate("box => box.scrollWidth - box.clientWidth")
    assert overflow <= 0, f"the list is {overflow}px wider than its box"
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    for header in page.locator("#result_list thead th").all():
        box = header.bounding_box()
        assert box["x"] + box["width"] <= WIDTH, f"{header.inner_text()!r} ends past {WIDTH}px"


def test_the_orders_and_runs_lists_fit_1280px_and_export_every_row(web_server, page):
    busy_day()

    page.goto(f"{web_server.url}/admin/trading/order/")
    expect(page.locator("#result_list tbody tr")).to_have_count(30)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-orders.png"), full_page=False)
    for title in ("Status", "Filled", "Avg price", "Run"):
        expect(page.locator("#result_list thead th", has_text=title).first).to_be_in_viewport()
    fits_the_screen(page)

    with page.expect_download() as download:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert len(rows) == 30 and rows[0]["order_type"] == "STP LMT"
    assert download.value.suggested_filename.startswith("orders-")

    page.goto(f"{web_server.url}/admin/trading/intentrun/")
    expect(page.locator("#result_list tbody tr")).to_have_count(30)
    page.screenshot(path=str(ARTIFACTS / "admin-runs.png"), full_page=False)
    for title in ("Created", "Took"):
        expect(page.locator("#result_list thead th", has_text=title).first).to_be_in_viewport()
    fits_the_screen(page)

    for path in ("fill", "activityentry"):  # the other exported lists fit too
        page.goto(f"{web_server.url}/admin/trading/{path}/")
        expect(page.locator("#result_list tbody tr").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / f"admin-{path}.png"), full_page=False)
        fits_the_screen(page)

    # A run's page: the orders and fills it caused, each a link, and its parameters as readable JSON.
    page.goto(f"{web_server.url}/admin/trading/intentrun/")
    page.click("#result_list tbody tr:first-child th a")
    expect(page.locator("#orders-group")).to_contain_text("SELL 1250 VIXY")
    expect(page.locator("#fills-group")).to_contain_text("SELL 125 VIXY @ 450.25")
    expect(page.locator("pre.run-json").first).to_contain_text('"spy_macd_vixy"')
    page.screenshot(path=str(ARTIFACTS / "admin-run.png"), full_page=True)
    page.locator("#orders-group a", has_text="SELL 1250 VIXY").click()
    expect(page.locator("h1, h2").first).to_contain_text("order")
