"""The performance page and the intraday chart in a real browser (Chromium via Playwright) against the real
web process: the range selector, the equity curve and daily bars (uPlot), the table, the metrics; the
live page's chart drawn from today's equity snapshots, so it has its history on a fresh load.

Leaves screenshots in /tmp/perf.png (the performance page) and test-artifacts/intraday.png.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest

from tests.api.factories import fill_make, position_make
from tests.dashboard import test_browser as browser
from tests.dashboard.test_browser import ROOT, expect
from trading.clock import day_bounds, display_zone, local_day
from trading.models import EquitySnapshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
SCREENSHOT = "/tmp/perf.png"
web_server, page = browser.web_server, browser.page  # the live page test's fixtures (daphne, Chromium)
SPY = 756733


def at(days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    """`hour`:`minute` in the display zone, `days_ago` display-zone days before today."""
    start, _ = day_bounds(local_day(dt.datetime.now(dt.UTC)) - dt.timedelta(days=days_ago))
    return (start + dt.timedelta(hours=hour, minutes=minute)).astimezone(dt.UTC)


def equity(taken_at: dt.datetime, value: float, pnl: float | None = None) -> None:
    EquitySnapshot.objects.create(
        mode="paper", account="DU1234567", taken_at=taken_at, net_liquidation=Decimal(str(value)), currency="USD",
        daily_pnl=None if pnl is None else Decimal(str(pnl)), reason="minute",
        resolution="day" if taken_at < at(7, 0) else "minute",
    )  # fmt: skip


@pytest.fixture
def history():
    """Three weeks of a swing strategy and a scalper, and the account's daily closes (one a minute today)."""
    trades = [
        (12, "swing", 100, 104),
        (9, "swing", 103, 101),
        (5, "scalp", 100, 100.5),
        (3, "swing", 99, 106),
        (1, "scalp", 101, 99),
    ]
    for days_ago, strategy, buy, sell in trades:
        fill_make(
            strategy=strategy,
            con_id=SPY,
            side="BUY",
            shares="10",
            price=str(buy),
            commission=Decimal("1"),
            executed_at=at(days_ago, 10),
        )
        fill_make(
            strategy=strategy,
            con_id=SPY,
            side="SELL",
            shares="10",
            price=str(sell),
            commission=Decimal("1"),
            executed_at=at(days_ago, 15),
        )
    fill_make(strategy="swing", con_id=SPY, side="BUY", shares="5", price="100", executed_at=at(0, 9, 45))  # still open
    position_make(symbol="SPY", con_id=SPY, quantity="5", market_price=Decimal("102"))  # +10.00 unrealized
    value = 1_000_000.0
    for days_ago in range(20, 0, -1):
        value += (days_ago % 3 - 1) * 650.0
        equity(at(days_ago, 16), value)
    for minute in range(0, 120, 5):
        equity(at(0, 9, 30) + dt.timedelta(minutes=minute), value + minute * 3, pnl=minute * 3 - 40)


def log_in(page, url: str) -> None:
    page.goto(f"{url}/dashboard/login/?next=/dashboard/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password-1")
    page.click("button[type=submit]")
    expect(page.locator("#socket-state")).to_have_attribute("data-state", "ok")


def test_a_trader_reads_the_performance_page_and_the_intraday_history(alice, history, web_server, page):
    zone = str(display_zone())
    log_in(page, web_server.url)

    # The live page: the intraday chart has today's recorded points at once, labelled, with numbers in its legend.
    chart = page.locator("#chart")
    expect(chart.locator("canvas")).to_have_count(1)
    legend = chart.locator(".u-legend .u-series")
    expect(legend.nth(1)).to_contain_text("Net liquidation")
    expect(legend.nth(1).locator(".u-value")).to_have_text(re.compile(r"^1,0\d\d,\d{3}\.\d\d$"))
    expect(legend.nth(2).locator(".u-value")).to_have_text(re.compile(r"^-?\d{1,3}\.\d\d$"))
    assert "--" not in chart.locator(".u-legend").inner_text()
    expect(legend.nth(0)).to_contain_text(f"Time ({zone})")
    page.screenshot(path=str(ROOT / "test-artifacts" / "intraday.png"), clip=chart.bounding_box())

    # The header's link leads to the performance page.
    page.click("#performance-link")
    expect(page).to_have_title(re.compile("Performance"))
    expect(page.locator("#perf-zone")).to_have_text(f"Days and times in {zone}")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")

    # One month by default: every round trip of the seeded three weeks, newest first, and their total.
    rows = page.locator("#perf-table tbody tr")
    expect(rows).to_have_count(6)  # five closing days and today's open swing position
    expect(rows.first.locator("td").nth(1)).to_have_text("swing")
    expect(rows.first.locator("td").nth(3)).to_have_text("10.00")
    expect(page.locator("#perf-table tfoot td").nth(5)).to_have_text("5")  # round trips
    # realized: 38 − 22 + 3 + 68 − 22 = 65 (each trip less 2.00 of commissions)
    expect(page.locator("#perf-table tfoot td").nth(2)).to_have_text("65.00")
    expect(page.locator('[data-metric="win_rate"] dd')).to_have_text("60.0 %")
    expect(page.locator('[data-metric="sharpe"] dd')).to_have_text(re.compile(r"^-?\d+\.\d\d$"))
    expect(page.locator("#equity-chart canvas")).to_have_count(1)
    expect(page.locator("#daily-chart canvas")).to_have_count(1)
    expect(page.locator("#equity-chart .u-legend")).to_contain_text("Net liquidation (USD)")

    # One week: only the last trips; by week the table folds the days.
    page.click("#perf-range label:has-text('1 week')")
    expect(page.locator("#perf-table tfoot td").nth(5)).to_have_text("3")
    page.select_option("#perf-period", "month")
    expect(page.locator("#table-note")).to_contain_text("by month")
    page.select_option("#perf-strategy", "scalp")
    expect(page.locator("#perf-table tfoot td").nth(5)).to_have_text("2")  # scalp's two trips of the week
    expect(page.locator("#perf-table tbody td:nth-child(2)").filter(has_not_text="scalp")).to_have_count(0)
    page.click("#perf-range label:has-text('1 month')")
    page.select_option("#perf-strategy", "")
    page.select_option("#perf-period", "day")
    expect(page.locator("#perf-table tfoot td").nth(5)).to_have_text("5")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    expect(rows).to_have_count(6)
    expect(page.locator("#table-note")).to_have_text("by day, 6 row(s)")
    page.screenshot(path=SCREENSHOT, full_page=True)


def test_the_performance_page_opens_on_the_account_the_live_page_shows_and_sums_all_of_them(alice, web_server, page):
    # DU1 made 38.00 on a swing trip, DU2 lost 22.00 on a scalp; each holds its own SPY position
    for account, strategy, buy, sell in (("DU1", "swing", 100, 104), ("DU2", "scalp", 103, 101)):
        fill_make(account=account, strategy=strategy, con_id=SPY, side="BUY", shares="10", price=str(buy),
                  commission=Decimal("1"), executed_at=at(2, 10))  # fmt: skip
        fill_make(account=account, strategy=strategy, con_id=SPY, side="SELL", shares="10", price=str(sell),
                  commission=Decimal("1"), executed_at=at(2, 15))  # fmt: skip
        position_make(account=account, symbol="SPY", con_id=SPY, quantity="0", market_price=Decimal("102"))
        EquitySnapshot.objects.create(
            mode="paper", account=account, taken_at=at(1, 16), net_liquidation=Decimal("1000"), currency="USD",
            reason="minute",
        )  # fmt: skip

    log_in(page, web_server.url)
    page.select_option("#account-select", "DU2")  # the live page shows DU2 …
    expect(page.locator("#account-select")).to_have_value("DU2")
    # … kept at once, not when the server's snapshot of DU2 arrives: a click on the link before then counts
    assert page.evaluate("localStorage.getItem('dashboard.account')") == "DU2"
    page.click("#performance-link")  # … and so does the performance page
    expect(page.locator("#perf-account")).to_have_value("DU2")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#perf-table tfoot td").nth(2)).to_have_text("-22.00")
    expect(page.locator("#perf-table tbody td:nth-child(2)").filter(has_not_text="scalp")).to_have_count(0)

    page.select_option("#perf-account", "")  # all accounts: both trips, summed
    expect(page.locator("#perf-table tfoot td").nth(2)).to_have_text("16.00")
    expect(page.locator("#perf-table tfoot td").nth(5)).to_have_text("2")
    expect(page.locator("#perf-account option").first).to_have_text("All accounts (2)")
