"""Demo mode never overrides an operator: it turns trading on only on a database it has just created."""

from decimal import Decimal

import pytest
from django_q.models import Schedule

from trading.config import config_update, effective_config, switch_set
from trading.demo import DEMO_SCHEDULE, ENABLED, NOT_PAPER, demo_enable
from trading.models import ActivityEntry, ActivityKind, ConfigScope, TradingConfig

pytestmark = pytest.mark.django_db


def settings_rows() -> list[dict]:
    return list(TradingConfig.objects.order_by("pk").values(*[f for f in ("scope", "trading_enabled", "soft_stop",
                "overall_exposure", "dry_run_default", "updated_at")]))  # fmt: skip


def test_on_a_new_database_it_enables_trading_on_the_common_and_paper_rows_so_the_demo_trades():
    lines = demo_enable()
    assert lines[0] == ENABLED
    config = effective_config()
    assert (config.trading_enabled, config.kill_switch_by, config.dry_run_default) == (True, [], False)
    assert config.overall_exposure == Decimal("0.1")
    entries = ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE)
    assert {(e.payload["scope"], e.payload["source"]) for e in entries} == {("common", "demo"), ("paper", "demo")}
    assert Schedule.objects.filter(name=DEMO_SCHEDULE).count() == 1


def test_a_stopped_database_stays_stopped_and_it_says_which_row_stops_trading(alice):
    demo_enable()
    switch_set(switch="kill_switch", on=True, scope=ConfigScope.PAPER, user=alice, source="api")
    before = settings_rows()
    lines = demo_enable()
    assert settings_rows() == before
    assert effective_config().trading_enabled is False
    assert lines[0].endswith(
        "trading is stopped by the paper settings (kill switch); resume with: python manage.py switch resume --scope paper"
    )


def test_a_database_someone_configured_is_left_alone_even_if_it_never_traded(alice):
    config_update(scope=ConfigScope.COMMON, changes={"overall_exposure": Decimal("0.5")}, user=alice, source="admin")
    before = settings_rows()
    lines = demo_enable()
    assert settings_rows() == before
    assert effective_config().trading_enabled is False
    assert "trading is stopped by the common settings (kill switch)" in lines[0]


def test_a_database_whose_switches_were_changed_without_a_trace_is_not_taken_for_new():
    TradingConfig.objects.filter(scope=ConfigScope.PAPER).update(trading_enabled=False)
    demo_enable()
    assert effective_config().kill_switch_by == ["common", "paper"]
    assert not ActivityEntry.objects.exists()


def test_running_it_twice_changes_nothing_the_second_time_but_the_schedule():
    demo_enable()
    rows, entries = settings_rows(), ActivityEntry.objects.count()
    schedule = Schedule.objects.get(name=DEMO_SCHEDULE)
    lines = demo_enable()
    assert settings_rows() == rows and ActivityEntry.objects.count() == entries
    assert Schedule.objects.get(name=DEMO_SCHEDULE).pk == schedule.pk
    assert "trading is on in paper mode" in lines[0]


def test_it_changes_no_setting_outside_paper_mode():
    config_update(scope=ConfigScope.COMMON, changes={"active_mode": "live"})
    before = settings_rows()
    assert demo_enable() == [NOT_PAPER]
    assert settings_rows() == before and not Schedule.objects.filter(name=DEMO_SCHEDULE).exists()
