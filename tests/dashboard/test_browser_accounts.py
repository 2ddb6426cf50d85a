"""The account selector in a real browser (real daphne, real Redis): with two accounts recorded, the
page shows both summed, then one when it is chosen — its rows, its figures, its pushes only — and keeps
that choice across a reload.

Leaves screenshots in test-artifacts/accounts-all.png and accounts-du2.png.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from channels.layers import get_channel_layer

from tests.dashboard import test_browser as shared
from tests.dashboard.webserver import ROOT
from trading.live import channel_message, live_event, live_group
from trading.models import AccountValue, IBConnection, Position, WorkerHeartbeat
from trading.worker.store import position_event

web_server, page = shared.web_server, shared.page
CHROMIUM, expect = shared.CHROMIUM, shared.expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SPY = {"con_id": 756733, "symbol": "SPY", "sec_type": "STK", "exchange": "SMART", "currency": "USD", "local_symbol": "SPY"}
QQQ = {**SPY, "con_id": 320227571, "symbol": "QQQ", "local_symbol": "QQQ"}


def publish(events):
    async def send():
        for event in events:
            await get_channel_layer().group_send(live_group(), channel_message(event))

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        pool.submit(asyncio.run, send()).result()


def test_a_desk_sees_all_accounts_summed_then_one_account_alone(alice, redis_url, web_server, page):
    from django.utils import timezone

    IBConnection.objects.filter(name="default").update(accounts=["DU1"])
    IBConnection.objects.create(name="desk2", port=4012, client_id=2, mode="paper", accounts=["DU2"])
    WorkerHeartbeat.objects.create(name="ibworker", mode="paper", connected=True, gateway="127.0.0.1:4002", updated_at=timezone.now())
    Position.objects.create(mode="paper", account="DU1", quantity=10, avg_cost=400, market_value=Decimal(4000), **SPY)
    Position.objects.create(mode="paper", account="DU2", quantity=5, avg_cost=300, market_value=Decimal(1500), **QQQ)
    for account, net, cash in [("DU1", "100000", "60000"), ("DU2", "250000", "40000")]:
        AccountValue.objects.create(mode="paper", account=account, tag="NetLiquidation", currency="USD", value=net)
        AccountValue.objects.create(mode="paper", account=account, tag="CashBalance", currency="USD", value=cash)
    for account, daily in [("DU1", "12.5"), ("DU2", "-2.5")]:
        AccountValue.objects.create(mode="paper", account=account, tag="PnL.Daily", currency="BASE", value=daily)

    page.goto(f"{web_server.url}/dashboard/login/?next=/dashboard/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password-1")
    page.click("button[type=submit]")
    expect(page.locator("#socket-state")).to_have_attribute("data-state", "ok")

    # All accounts: both rows, the figures summed per currency, the daily P&L summed.
    expect(page.locator("#account-view")).to_be_visible()
    expect(page.locator("#account-select option")).to_have_text(["All accounts (2)", "DU1", "DU2"])
    expect(page.locator("#positions tbody tr")).to_have_count(2)
    expect(page.locator('[data-figure="NetLiquidation"]')).to_have_text("350,000.00 USD")
    expect(page.locator('[data-figure="daily_pnl"]')).to_have_text("10.00")
    expect(page.locator("#cash tbody tr")).to_have_text(["USD100,000.00"])
    expect(page.locator("#account-name")).to_have_text("all accounts (DU1, DU2)")
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "test-artifacts" / "accounts-all.png"))

    # DU2 alone: its row, its figures; a push for DU1 does not reach the page's DU2 view.
    page.select_option("#account-select", "DU2")
    expect(page.locator("#positions tbody tr")).to_have_count(1)
    expect(page.locator("#positions tbody tr")).to_contain_text("QQQ")
    expect(page.locator('[data-figure="NetLiquidation"]')).to_have_text("250,000.00 USD")
    expect(page.locator('[data-figure="daily_pnl"]')).to_have_text("-2.50")
    expect(page.locator("#account-name")).to_have_text("DU2")
    du1_buys = Position(mode="paper", account="DU1", quantity=7, avg_cost=100, **{**SPY, "con_id": 1, "symbol": "IWM"})
    du2_buys = Position(mode="paper", account="DU2", quantity=3, avg_cost=50, **{**SPY, "con_id": 2, "symbol": "DIA"})
    publish([
        live_event("position.update", position_event(du1_buys), mode="paper"),
        live_event("position.update", position_event(du2_buys), mode="paper"),
        live_event("pnl.update", {"account": "DU1", "daily_pnl": "99", "unrealized_pnl": "0", "realized_pnl": "0"}, mode="paper"),
    ])  # fmt: skip
    expect(page.locator("#positions tbody tr", has_text="DIA")).to_be_visible()  # DU2's push arrived, so DU1's did too
    expect(page.locator("#positions tbody tr", has_text="IWM")).to_have_count(0)
    expect(page.locator('[data-figure="daily_pnl"]')).to_have_text("-2.50")
    page.screenshot(path=str(ROOT / "test-artifacts" / "accounts-du2.png"))

    # A reload keeps the choice (the socket's URL and the browser's storage carry it).
    page.reload()
    expect(page.locator("#socket-state")).to_have_attribute("data-state", "ok")
    expect(page.locator("#account-select")).to_have_value("DU2")
    expect(page.locator("#positions tbody tr")).to_have_count(1)

    # A run from the page trades the account shown: DU2's goes to DU2's connection (whose worker is down
    # here, so it is refused naming them); from the all-accounts view the server asks which account.
    page.select_option("#run-intent", "summary")
    page.click("#run-submit")
    expect(page.locator("#run-message")).to_contain_text("connection desk2 (account DU2) is not connected")
    page.select_option("#account-select", "")
    expect(page.locator("#positions tbody tr")).to_have_count(2)
    page.click("#run-submit")
    expect(page.locator("#run-message")).to_contain_text("several accounts are known (DU1, DU2): name one with `account`")
