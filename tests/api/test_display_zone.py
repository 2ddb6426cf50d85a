"""The display time zone through the API: set with a clear 422 for a bad name, and the `day` filters
cut calendar days at the display zone's midnight (storage stays UTC)."""

from datetime import UTC, datetime

import pytest

from tests.api.factories import fill_make, order_make
from trading import clock
from trading.config import config_update
from trading.models import ConfigScope

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _zone_read_fresh():
    clock.display_zone_forget()
    yield
    clock.display_zone_forget()


def zone_set(name: str) -> None:
    config_update(scope=ConfigScope.COMMON, changes={"display_time_zone": name})


def test_the_api_sets_the_zone_and_refuses_a_bad_one_with_422(alice_api, bob_api):
    response = alice_api.post_json("/api/config/display-time-zone", {"display_time_zone": "Tokyo"})
    assert response.status_code == 422
    assert "'Tokyo' is not an IANA time zone" in response.json()["detail"]
    assert bob_api.get("/api/config").json()["display_time_zone"] == "America/New_York"

    response = alice_api.post_json("/api/config/display-time-zone", {"display_time_zone": "Asia/Tokyo"})
    assert response.status_code == 200 and response.json()["display_time_zone"] == "Asia/Tokyo"
    assert bob_api.post_json("/api/config/display-time-zone", {"display_time_zone": "UTC"}).status_code == 403

    # Empty (listed in the schema's enum): back to the DISPLAY_TIME_ZONE environment variable's zone.
    response = alice_api.post_json("/api/config/display-time-zone", {"display_time_zone": ""})
    assert response.status_code == 200, response.content
    assert bob_api.get("/api/config").json()["display_time_zone"] == "America/New_York"


def test_the_api_day_filter_cuts_at_display_zone_midnight(bob_api):
    before_midnight = datetime(2026, 11, 2, 4, 59, tzinfo=UTC)  # 23:59 EST, Nov 1
    after_midnight = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)  # 00:00 EST, Nov 2
    first, second = order_make(created_at=before_midnight), order_make(created_at=after_midnight)
    fill_first, fill_second = fill_make(executed_at=before_midnight), fill_make(executed_at=after_midnight)

    def ids(path, day):
        return [row["id"] for row in bob_api.get(f"/api/{path}?day={day}").json()["items"]]

    assert ids("orders", "2026-11-01") == [first.pk] and ids("orders", "2026-11-02") == [second.pk]
    assert ids("fills", "2026-11-01") == [fill_first.pk] and ids("fills", "2026-11-02") == [fill_second.pk]
    zone_set("UTC")
    assert ids("orders", "2026-11-02") == [second.pk, first.pk]
