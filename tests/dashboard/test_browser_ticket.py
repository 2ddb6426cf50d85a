"""The order ticket and the orders table's inline modify, in the real browser (headless Chromium from
Debian) against daphne, the IB worker and the paper gateway, as tests/dashboard/test_browser.py.

Quote, preview and modify are answered by the server side of the ticket (`order.quote`,
`order.preview`, `order.modify` in `LiveConsumer.commands`). Until that is merged the page must say
"the server does not support this yet" and keep working; once merged, the same test asserts the real
answers. Which one is decided at test time from `LiveConsumer.commands`, never by skipping.
Leaves a screenshot in test-artifacts/dashboard-ticket.png.
"""

import re

import pytest

from tests.dashboard import test_browser as shared
from tests.harness import wait_until
from trading.dashboard.consumers import LiveConsumer
from trading.models import IntentRun, RunSource, RunStatus

# The page test's fixtures: the web server, the worker on the paper gateway, the browser page.
console_worker, web_server, page = shared.console_worker, shared.web_server, shared.page
CHROMIUM, expect, order_row = shared.CHROMIUM, shared.expect, shared.order_row
SCREENSHOT = shared.ROOT / "test-artifacts" / "dashboard-ticket.png"
NOT_SUPPORTED = "the server does not support this yet"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not CHROMIUM.exists() and not __import__("os").environ.get("CI"), reason="needs Debian's chromium"),
]


def supported(message_type: str) -> bool:
    return message_type in LiveConsumer.commands


def log_in(page, web_server):
    page.goto(f"{web_server.url}/dashboard/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password-1")
    page.click("button[type=submit]")
    expect(page.locator("#socket-state")).to_have_attribute("data-state", "ok")


def fill_ticket(page, *, symbol="SPY", side="BUY", size="2", order_type="MKT", limit="", tif="DAY"):
    page.fill("#ticket-symbol", symbol)
    page.check(f"input[name=side][value={side}]")
    page.fill("#ticket-size", size)
    page.select_option("#ticket-size-mode", "shares")
    page.select_option("#ticket-type", order_type)
    if limit:
        page.fill("#ticket-limit", limit)
    page.select_option("#ticket-tif", tif)
    page.uncheck("#ticket-dry")


def test_the_ticket_shows_the_fields_each_order_type_needs(alice, web_server, page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, web_server)
    fields = {
        "limit": page.locator("#ticket-limit"),
        "stop": page.locator("#ticket-stop"),
        "trail": page.locator("#ticket-trail"),
    }
    needs = {
        "MKT": set(),
        "LMT": {"limit"},
        "STP": {"stop"},
        "STP LMT": {"limit", "stop"},
        "TRAIL": {"trail"},
        "MOC": set(),
        "LOC": {"limit"},
    }
    for order_type, wanted in needs.items():
        page.select_option("#ticket-type", order_type)
        for name, field in fields.items():
            (expect(field).to_be_visible if name in wanted else expect(field).to_be_hidden)()
    page.check("#ticket-bracket")
    expect(page.locator("#ticket-take-profit")).to_be_visible()
    expect(page.locator("#ticket-stop-loss")).to_be_visible()
    page.uncheck("#ticket-bracket")
    expect(page.locator("#ticket-take-profit")).to_be_hidden()
    # Every input has a label (for= or wrapping), so a screen reader names it.
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('#ticket input, #ticket select')]
             .filter((i) => !i.labels || !i.labels.length).map((i) => i.id || i.name)"""
    )
    assert unlabelled == []
    # The size is one input with a mode switch: the parameter follows the mode.
    page.fill("#ticket-symbol", "spy")
    page.fill("#ticket-size", "1000")
    page.select_option("#ticket-size-mode", "cash")
    page.select_option("#ticket-type", "TRAIL")
    page.fill("#ticket-trail", "1.5")
    page.select_option("#ticket-trail-mode", "percent")
    params = page.evaluate("() => import('/static/dashboard/modules/ticket.js').then((m) => m.ticketParams())")
    assert params == {
        "symbol": "SPY", "sec_type": "STK", "currency": "USD", "action": "BUY", "notional": 1000, "order_type": "TRAIL",
        "tif": "DAY", "outside_rth": False, "strategy": "manual", "trail_percent": 1.5,
    }  # fmt: skip
    assert errors == []


def test_a_trader_quotes_previews_sends_modifies_and_cancels_from_the_ticket(
    alice, paper_gateway, console_worker, web_server, page
):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, web_server)
    page.click("#kill-switch button")  # new installs start with the kill switch on
    expect(page.locator("#kill-switch .switch-label")).to_have_text("Trading enabled")

    # Enter in the symbol asks for a quote (and does not send anything).
    page.fill("#ticket-symbol", "SPY")
    page.press("#ticket-symbol", "Enter")
    quote = page.locator("#ticket-quote")
    if supported("order.quote"):
        expect(quote).to_have_attribute("data-state", "ok")
        expect(quote.locator(".quote-bid")).to_contain_text("bid")
        expect(quote.locator(".quote-ask")).to_contain_text("ask")
        expect(quote.locator(".quote-last")).to_contain_text("last")
    else:
        expect(quote).to_have_attribute("data-state", "error")
        expect(quote).to_contain_text(NOT_SUPPORTED)

    # Preview: IB's what-if and the gateway's checks, nothing placed.
    fill_ticket(page, size="2", order_type="MKT")
    page.click("#ticket-preview-button")
    if supported("order.preview"):
        preview = page.locator("#ticket-preview")
        expect(preview).to_be_visible()
        expect(preview.locator(".verdict")).to_have_text(re.compile("Would (NOT )?send"))
        expect(preview.locator(".checks li").first).to_be_visible()
        expect(preview).to_contain_text("Commission")
    else:
        expect(page.locator("#ticket-message")).to_contain_text(NOT_SUPPORTED)
        expect(page.locator("#ticket-message")).to_have_class(re.compile("error"))
    assert not IntentRun.objects.exists()

    # A refused parameter is named next to its field, and nothing is queued.
    fill_ticket(page, size="2", order_type="LMT")
    page.fill("#ticket-limit", "")
    page.click("#ticket-send")
    expect(page.locator("#ticket-message")).to_have_class(re.compile("error"))
    expect(page.locator("[data-field=limit] .field-error")).to_contain_text("limit_price")
    assert not IntentRun.objects.exists()

    # Send a market buy: Enter in the size field submits the form; the run is queued and fills.
    fill_ticket(page, size="2", order_type="MKT")
    page.press("#ticket-size", "Enter")
    # The acknowledgement ("queued") may already be replaced by the outcome when a fast run finishes.
    expect(page.locator("#ticket-message")).to_contain_text(re.compile(r"run #\d+ place_order (queued|succeeded)"))
    run = IntentRun.objects.get(intent="place_order")
    assert (run.source, run.dry_run, run.requested_by.username) == (RunSource.DASHBOARD, False, "alice")
    assert run.params == {
        "symbol": "SPY", "sec_type": "STK", "currency": "USD", "action": "BUY", "quantity": 2, "order_type": "MKT",
        "tif": "DAY", "outside_rth": False, "strategy": "manual",
    }  # fmt: skip
    expect(order_row(page, "MKT").locator("td.status")).to_have_text("Filled")
    expect(page.locator("#ticket-message")).to_contain_text("succeeded")

    # A resting limit order from the ticket, modified inline in the orders table.
    fill_ticket(page, size="3", order_type="LMT", limit="1", tif="GTC")
    page.click("#ticket-send")
    resting = order_row(page, "LMT")
    expect(resting.locator("td.status")).to_have_text(re.compile("Submitted"))
    row_id = int(resting.get_attribute("data-key"))

    resting.locator("button.modify").click()
    price = page.locator(f"#order-{row_id}-price")
    expect(price).to_be_focused()
    page.keyboard.press("Escape")  # Escape gives up the edit and returns to the Modify button
    expect(price).to_have_count(0)
    expect(resting.locator("button.modify")).to_be_focused()

    resting.locator("button.modify").click()
    page.fill(f"#order-{row_id}-price", "1.5")
    page.fill(f"#order-{row_id}-quantity", "4")
    # A resync (the page saw a gap in the pushes) redraws the tables from a snapshot: the edit in
    # progress, its typed values and the keyboard focus survive it.
    snapshots = page.evaluate("window.dashboardStats.snapshots")
    page.focus(f"#order-{row_id}-price")
    page.evaluate(  # the page's own core module (same URL, same instance): its resync, as a gap would start it
        "import(new URL('modules/core.js', document.querySelector('script[type=module]').src)).then((c) => c.resync())"
    )
    page.wait_for_function(f"window.dashboardStats.snapshots > {snapshots}")
    expect(page.locator(f"#order-{row_id}-price")).to_be_focused()
    expect(page.locator(f"#order-{row_id}-price")).to_have_value("1.5")
    expect(page.locator(f"#order-{row_id}-quantity")).to_have_value("4")
    page.press(f"#order-{row_id}-price", "Enter")
    if supported("order.modify"):
        wait_until(lambda: IntentRun.objects.filter(intent="modify_order").exists(), what="the modify run")
        modify = IntentRun.objects.get(intent="modify_order")
        assert modify.params["order"] == row_id
        assert float(modify.params["limit_price"]) == 1.5 and float(modify.params["quantity"]) == 4
        assert (modify.source, modify.dry_run) == (RunSource.DASHBOARD, False)
        expect(resting.locator("td").nth(6)).to_have_text("1.5")
        expect(resting.locator("td").nth(4)).to_have_text("4")
    else:
        expect(page.locator("#orders-message")).to_contain_text(NOT_SUPPORTED)
        page.keyboard.press("Escape")
    expect(page.locator(f"#order-{row_id}-price")).to_have_count(0)

    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Cancel from the row, as before.
    resting.locator("button.cancel").click()
    expect(resting.locator("td.status")).to_have_text("Cancelled")
    runs = IntentRun.objects.filter(source=RunSource.DASHBOARD)
    wait_until(lambda: all(r.status == RunStatus.SUCCEEDED for r in runs.all()), what="the ticket's runs to succeed")
    assert paper_gateway.open_orders() == []
    assert errors == []


def test_in_live_mode_send_asks_first_and_going_back_sends_nothing(alice, web_server, page):
    from trading.config import config_update
    from trading.models import ConfigScope

    config_update(scope=ConfigScope.COMMON, changes={"active_mode": "live"})
    log_in(page, web_server)
    expect(page.locator("#mode-badge")).to_have_text("LIVE")
    expect(page.locator("#live-banner")).to_be_visible()
    fill_ticket(page, size="1", order_type="LMT", limit="10")
    page.click("#ticket-send")
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(page.locator("#confirm-text")).to_contain_text("LIVE mode, with real money: BUY 1 SPY LMT (limit 10) DAY")
    page.screenshot(path=str(SCREENSHOT.with_name("dashboard-ticket-live.png")), full_page=True)
    page.keyboard.press("Escape")  # the dialog's Escape is "Back"
    expect(dialog).to_be_hidden()
    assert not IntentRun.objects.exists()


def test_the_page_draws_the_quote_and_the_preview_of_the_ticket_contract(alice, web_server, page):
    """The page's half of the contract in docs/DASHBOARD.md, whatever the server has merged: the socket
    goes to the real server, except order.quote and order.preview, which get the contract's answers."""
    import json

    quote = {"symbol": "SPY", "bid": "515.10", "ask": "515.20", "last": "515.15", "mid": "515.15", "time": "2026-01-02T15:00:00Z"}
    preview = {
        "quantity": "19", "price_used": "515.15", "sizing": "notional 10000 at the midpoint 515.15",
        "orders": [{"action": "BUY", "quantity": "19", "order_type": "LMT", "lmt_price": "515", "aux_price": None, "tif": "DAY", "role": "parent"}],
        "checks": [{"rule": "kill_switch", "ok": True, "message": ""}, {"rule": "max_order_value", "ok": False, "message": "9,788 USD is over the 5,000 USD limit"}],
        "would_send": False,
        "what_if": {"init_margin_change": "2447.10", "maint_margin_change": "2447.10", "equity_with_loan_change": "-1.00",
                    "commission": "1.00", "min_commission": None, "max_commission": None, "warning": ""},
    }  # fmt: skip
    asked = []

    def answer(ws):
        server = ws.connect_to_server()

        def from_page(message):
            data = json.loads(message)
            if data.get("type") not in ("order.quote", "order.preview"):
                return server.send(message)
            asked.append(data)
            payload = {"request_id": data["request_id"], "action": data["type"], "ok": True, "message": ""}
            payload.update(quote=quote) if data["type"] == "order.quote" else payload.update(preview=preview)
            ws.send(json.dumps({"v": 1, "type": "action.result", "time": "", "mode": "paper", "payload": payload}))

        ws.on_message(from_page)

    page.route_web_socket(re.compile(r".*/ws/live/$"), answer)
    log_in(page, web_server)
    page.fill("#ticket-symbol", "spy")
    page.press("#ticket-symbol", "Enter")
    expect(page.locator("#ticket-quote .quote-bid")).to_have_text("bid 515.1")
    expect(page.locator("#ticket-quote .quote-ask")).to_have_text("ask 515.2")
    expect(page.locator("#ticket-quote .quote-last")).to_have_text("last 515.15")

    page.fill("#ticket-size", "10000")
    page.select_option("#ticket-size-mode", "cash")
    page.select_option("#ticket-type", "LMT")
    page.fill("#ticket-limit", "515")
    page.click("#ticket-preview-button")
    box = page.locator("#ticket-preview")
    expect(box.locator(".verdict")).to_have_text("Would NOT send")
    expect(box.locator("tr", has_text="Initial margin change")).to_contain_text("2,447.10")
    expect(box.locator("tr", has_text="Commission")).to_contain_text("1.00")
    expect(box.locator(".checks li.ok")).to_contain_text("kill_switch")
    expect(box.locator(".checks li.refused")).to_contain_text("max_order_value — 9,788 USD is over the 5,000 USD limit")
    expect(box.locator(".preview-orders li")).to_have_text("parent BUY 19 LMT lmt 515 DAY")
    page.screenshot(path=str(SCREENSHOT.with_name("dashboard-ticket-preview.png")), full_page=True)
    assert [a["type"] for a in asked] == ["order.quote", "order.preview"]
    assert asked[0]["symbol"] == "SPY" and asked[0]["sec_type"] == "STK"
    assert asked[1]["params"] == {
        "symbol": "SPY", "sec_type": "STK", "currency": "USD", "action": "BUY", "notional": 10000, "order_type": "LMT",
        "limit_price": 515, "tif": "DAY", "outside_rth": False, "strategy": "manual",
    }  # fmt: skip
    page.keyboard.press("Escape")  # Escape closes the preview
    expect(box).to_be_hidden()
