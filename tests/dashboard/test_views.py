"""The dashboard page: login required, the mode unmistakable, links to and from the admin."""

import json
import re

import pytest
from django.conf import settings
from django.urls import reverse

from trading.config import config_update
from trading.models import ConfigScope, Order

pytestmark = pytest.mark.django_db

VENDORED_UPLOT = settings.BASE_DIR / "static" / "vendor" / "uplot-1.6.32"


def page_urls(response) -> dict:
    match = re.search(r'<script id="dashboard-urls" type="application/json">(.*?)</script>', response.content.decode())
    return json.loads(match.group(1))


def test_an_anonymous_visitor_is_sent_to_the_login_form_and_back(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/login/?next=/dashboard/"


def test_a_trader_without_staff_rights_logs_in_and_sees_the_page(client, bob):
    response = client.post("/dashboard/login/?next=/dashboard/", {"username": "bob", "password": "bob-password-1"}, follow=True)
    assert response.redirect_chain[-1][0] == "/dashboard/"
    body = response.content.decode()
    assert '<div class="mode-badge" id="mode-badge">PAPER</div>' in body
    assert 'id="live-banner" class="live-banner" hidden' in body
    assert "Kill switch ON — trading disabled" in body  # new installs start with trading disabled
    assert 'href="/admin/"' not in body  # no admin link for a non-staff user


def test_live_mode_shows_the_red_banner_before_any_script_runs(alice_client):
    config_update(scope=ConfigScope.COMMON, changes={"active_mode": "live"})
    body = alice_client.get("/dashboard/").content.decode()
    assert '<body class="mode-live">' in body
    assert 'id="live-banner" class="live-banner">' in body  # not hidden
    assert "LIVE TRADING" in body and '<div class="mode-badge" id="mode-badge">LIVE</div>' in body


def test_the_root_url_leads_to_the_dashboard(alice_client):
    response = alice_client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:index")


def test_order_rows_link_to_their_admin_change_page(alice_client):
    order = Order.objects.create(mode="paper", symbol="SPY", action="BUY", total_quantity=1, status="Submitted")
    urls = page_urls(alice_client.get("/dashboard/"))
    link = urls["order"].replace(urls["placeholder"], str(order.pk))
    assert link == reverse("admin:trading_order_change", args=[order.pk])
    assert alice_client.get(link).status_code == 200
    assert urls["socket"] == "/ws/live/"


def test_the_admin_links_back_to_the_dashboard(alice_client):
    body = alice_client.get(reverse("admin:index")).content.decode()
    assert body.count('href="/dashboard/"') >= 2  # branding and user tools


def test_the_page_loads_the_vendored_chart_library_with_its_license(alice_client):
    body = alice_client.get("/dashboard/").content.decode()
    assert "/static/vendor/uplot-1.6.32/uPlot.iife.min.js" in body
    assert "/static/dashboard/dashboard.js" in body
    assert (VENDORED_UPLOT / "LICENSE").read_text().startswith("The MIT License")
    assert (VENDORED_UPLOT / "uPlot.iife.min.js").stat().st_size > 10_000


def test_browsers_asking_for_favicon_ico_get_the_console_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
    icon = client.get(response["Location"])
    assert icon.status_code == 200 and b"<svg" in b"".join(icon.streaming_content)


def test_the_page_treats_every_final_run_status_as_final():
    """A `partial` run missing from the page's list left "queued" under the run form for good."""
    from trading.models import RunStatus

    core = (settings.BASE_DIR / "static" / "dashboard" / "modules" / "core.js").read_text()
    listed = re.search(r"FINAL_RUN_STATUSES = new Set\(\[([^\]]*)\]\)", core).group(1)
    assert set(re.findall(r'"(\w+)"', listed)) == set(RunStatus.final_values())
