"""The account card and the positions rows in a real browser show the same P&L — IB's reqPnL and
reqPnLSingle as the worker recorded them — with their age (real daphne, worker and paper gateway).

Leaves a screenshot in test-artifacts/pnl-card.png.
"""

import re

import pytest

from tests.dashboard import test_browser as shared
from tests.dashboard.webserver import ROOT
from tests.harness import WorkerThread, wait_until
from tests.intents.test_pnl_sources import buy
from trading.models import WorkerHeartbeat

# The page test's fixtures: the web server and the browser page.
web_server, page = shared.web_server, shared.page
CHROMIUM, expect = shared.CHROMIUM, shared.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.paper_gateway(tick_interval=0),
]


@pytest.fixture
def ib_worker(paper_gateway, redis_url, transactional_db, tmp_path):
    worker = WorkerThread(port=paper_gateway.port, var_dir=tmp_path, handler_paths=[])
    worker.start().wait_connected()
    wait_until(lambda: WorkerHeartbeat.objects.filter(connected=True).exists(), what="a connected heartbeat")
    yield worker
    worker.stop()


def test_the_card_and_the_rows_show_ibs_pnl_streams_with_their_age(alice, paper_gateway, ib_worker, web_server, page):
    assert CHROMIUM.exists()
    paper_gateway.set_price("SPY", 400.00)
    fill = buy(ib_worker, "SPY", 100).fills[0]
    cost = fill.execution.price + fill.commissionReport.commission / 100

    page.goto(f"{web_server.url}/dashboard/login/?next=/dashboard/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password-1")
    page.click("button[type=submit]")
    expect(page.locator("#socket-state")).to_have_attribute("data-state", "ok")

    paper_gateway.set_price("SPY", 410.00)  # the streams carry the move within about a second
    expected = f"{100 * (410.00 - cost):,.2f}"
    card = page.locator('[data-figure="unrealized_pnl"]')
    row = page.locator("#positions tbody tr", has_text="SPY").locator("td").nth(6)
    expect(card).to_have_text(expected)
    expect(row).to_have_text(expected)
    expect(card).to_have_attribute("title", re.compile(r"^IB reqPnL, \d+ s ago$"))
    expect(row).to_have_attribute("title", re.compile(r"^IB reqPnLSingle, as of "))
    expect(page.locator("#account-age")).to_contain_text("P&L (IB reqPnL)")
    expect(page.locator("#account-age")).to_contain_text("account values")

    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    page.locator("#account-panel").screenshot(path=str(ROOT / "test-artifacts" / "pnl-card.png"))
