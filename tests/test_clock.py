"""One clock: the display time zone is a common trading setting, validated wherever it is set, and every
surface (admin, dashboard, the API's `day` filters) shows times and cuts days in it; storage stays UTC."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.api.factories import order_make
from tests.test_admin import form_data
from trading import clock
from trading.clock import day_bounds, display_zone, local_day, local_text, zone_label
from trading.config import config_update, effective_config
from trading.models import ActivityEntry, ActivityKind, ConfigScope, TradingConfig
from trading.models.config import BAD_TIME_ZONE

pytestmark = pytest.mark.django_db
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(autouse=True)
def _zone_read_fresh():
    """The zone is remembered for a few seconds per process; each test starts and ends without it."""
    clock.display_zone_forget()
    yield
    clock.display_zone_forget()


def zone_set(name: str) -> None:
    config_update(scope=ConfigScope.COMMON, changes={"display_time_zone": name})


# ----- the setting ---------------------------------------------------------------------------------


def test_a_new_install_shows_times_in_new_york_and_says_so_on_the_common_row():
    assert TradingConfig.objects.get(scope=ConfigScope.COMMON).display_time_zone == "America/New_York"
    assert display_zone() == NEW_YORK and effective_config().display_time_zone == "America/New_York"


def test_changing_the_setting_changes_the_clock_at_once():
    assert display_zone() == NEW_YORK  # remembered now
    zone_set("Asia/Tokyo")
    assert display_zone() == TOKYO


def test_a_blank_setting_falls_back_to_the_environment_default(settings):
    settings.DISPLAY_TIME_ZONE = "Europe/London"
    zone_set("")
    assert display_zone() == ZoneInfo("Europe/London")


@pytest.mark.parametrize("bad", ["New York", "Mars/Olympus_Mons", "../../etc/passwd", "America/"])
def test_a_zone_that_is_not_an_iana_name_is_refused_and_nothing_changes(bad):
    with pytest.raises(ValidationError) as error:
        zone_set(bad)
    assert error.value.message_dict["display_time_zone"] == [BAD_TIME_ZONE % {"value": repr(bad)}]
    assert TradingConfig.objects.get(scope=ConfigScope.COMMON).display_time_zone == "America/New_York"


def test_only_the_common_row_names_the_zone():
    with pytest.raises(ValidationError, match="Only the common settings choose the display time zone"):
        config_update(scope=ConfigScope.PAPER, changes={"display_time_zone": "Asia/Tokyo"})


def test_the_admin_form_refuses_a_bad_zone_with_the_reason_and_saves_a_good_one(alice_client):
    common = TradingConfig.objects.get(scope=ConfigScope.COMMON)
    url = reverse("admin:trading_tradingconfig_change", args=[common.pk])
    data = form_data(alice_client, url)

    response = alice_client.post(url, {**data, "display_time_zone": "Eastern"})
    assert response.status_code == 200
    assert "&#x27;Eastern&#x27; is not an IANA time zone" in response.content.decode()
    assert TradingConfig.objects.get(pk=common.pk).display_time_zone == "America/New_York"

    response = alice_client.post(url, {**data, "display_time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert TradingConfig.objects.get(pk=common.pk).display_time_zone == "Asia/Tokyo"
    assert display_zone() == TOKYO
    change = ActivityEntry.objects.get(kind=ActivityKind.CONFIG_CHANGE).payload["changes"]
    assert change == {"display_time_zone": {"from": "America/New_York", "to": "Asia/Tokyo"}}


# ----- the clock across a DST change -----------------------------------------------------------------


def test_the_day_the_clocks_go_back_is_25_hours_long_and_the_day_they_go_forward_23():
    start, end = day_bounds(date(2026, 11, 1))  # New York: 02:00 EDT -> 01:00 EST
    assert start == datetime(2026, 11, 1, 4, tzinfo=UTC) and end == datetime(2026, 11, 2, 5, tzinfo=UTC)
    assert end - start == timedelta(hours=25)
    start, end = day_bounds(date(2026, 3, 8))  # 02:00 EST -> 03:00 EDT
    assert end - start == timedelta(hours=23)


def test_a_moment_belongs_to_the_display_zones_calendar_day_and_reads_with_its_abbreviation():
    late_evening = datetime(2026, 11, 2, 3, 30, tzinfo=UTC)  # 22:30 EST on the 1st
    assert local_day(late_evening) == date(2026, 11, 1)
    assert local_text(late_evening) == "2026-11-01 22:30:00 EST"
    assert local_text(datetime(2026, 10, 31, 16, tzinfo=UTC)) == "2026-10-31 12:00:00 EDT"
    assert zone_label(late_evening) == "America/New_York (EST)"
    zone_set("Asia/Tokyo")
    assert local_day(late_evening) == date(2026, 11, 2)


# ----- the surfaces ----------------------------------------------------------------------------------


def test_the_admin_renders_times_in_the_display_zone_and_names_it(alice_client):
    order_make(created_at=datetime(2026, 11, 2, 3, 30, tzinfo=UTC))  # 22:30 EST on Nov 1
    body = alice_client.get(reverse("admin:trading_order_changelist")).content.decode()
    assert "2026-11-01 22:30:00" in body and "03:30:00" not in body
    assert "Times: America/New_York (" in body
    zone_set("Asia/Tokyo")
    body = alice_client.get(reverse("admin:trading_order_changelist")).content.decode()
    assert "2026-11-02 12:30:00" in body and "Times: Asia/Tokyo (JST)" in body and "(JST)</a>" in body


def test_the_dashboard_page_carries_the_zone(alice_client):
    zone_set("Europe/London")
    body = alice_client.get(reverse("dashboard:index")).content.decode()
    assert 'data-time-zone="Europe/London"' in body
    assert 'id="time-zone"' in body and "Europe/London (" in body


def test_the_dashboards_status_names_the_zone():
    from trading.dashboard.snapshot import status_build

    zone_set("Asia/Tokyo")
    assert status_build()["time_zone"] == "Asia/Tokyo"


def test_a_page_reads_the_zone_fresh_and_an_api_call_may_use_the_zone_remembered_for_a_few_seconds(rf):
    """A change saved by another process (no `display_zone_forget` here): the next page shows it at once;
    an API call, which does not pay a query for the zone each time, sees it within CACHE_SECONDS."""
    from django.utils import timezone

    from trading.clock import DisplayZoneMiddleware

    seen = []
    middleware = DisplayZoneMiddleware(lambda request: seen.append(timezone.get_current_timezone()))
    middleware(rf.get("/api/orders"))
    TradingConfig.objects.filter(scope=ConfigScope.COMMON).update(display_time_zone="Asia/Tokyo")  # another process
    middleware(rf.get("/api/orders"))
    middleware(rf.get("/admin/trading/order/"))
    middleware(rf.get("/api/orders"))  # the page's fresh read is remembered for the API too
    assert seen == [NEW_YORK, NEW_YORK, TOKYO, TOKYO]
    assert timezone.get_current_timezone() == timezone.get_default_timezone()  # each request's zone ends with it
