"""The performance page: login required, the zone named, the API it reads, a link from the live page."""

import json
import re

import pytest

from trading.config import config_update
from trading.models import ConfigScope

pytestmark = pytest.mark.django_db


def test_an_anonymous_visitor_is_sent_to_the_login_form_and_back(client):
    response = client.get("/dashboard/performance/")
    assert (response.status_code, response["Location"]) == (302, "/dashboard/login/?next=/dashboard/performance/")


def test_a_trader_sees_the_page_with_its_zone_mode_and_api(client, bob, settings, zone_from_settings):
    settings.DISPLAY_TIME_ZONE = "Europe/London"
    config_update(scope=ConfigScope.COMMON, changes={"active_mode": "live"})
    client.force_login(bob)
    body = client.get("/dashboard/performance/").content.decode()
    assert "Days and times in Europe/London" in body and 'data-zone="Europe/London"' in body
    assert '<div class="mode-badge">LIVE</div>' in body
    urls = json.loads(re.search(r'<script id="dashboard-urls" type="application/json">(.*?)</script>', body).group(1))
    assert (urls["performance"], urls["equity"]) == ("/api/performance", "/api/performance/equity")
    assert 'src="/static/dashboard/modules/performance.js"' in body and 'type="module"' in body
    for key in ("1w", "1m", "3m", "ytd", "1y", "all"):
        assert f'name="range" value="{key}"' in body
    assert 'href="/admin/"' not in body  # bob is not staff


def test_the_live_page_links_to_it(alice_client):
    assert 'href="/dashboard/performance/" id="performance-link"' in alice_client.get("/dashboard/").content.decode()
