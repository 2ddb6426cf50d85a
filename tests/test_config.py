from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from trading.config import (
    config_event,
    config_update,
    effective_config,
    switch_set,
    switch_state_line,
    switches_describe,
)
from trading.models import ActivityEntry, ActivityKind, ConfigScope, TradingConfig

pytestmark = pytest.mark.django_db


def test_it_starts_paper_with_trading_disabled_and_the_seed_values():
    config = effective_config()
    assert config.mode == "paper"
    assert config.trading_enabled is False
    assert config.overall_exposure == Decimal("0.9")
    assert config.market_data_type == 2


def test_default_limit_orders_are_offset_10_bps_from_the_midpoint_unless_a_mode_says_otherwise():
    assert effective_config("paper").limit_offset_bps == Decimal("10")
    config_update(scope=ConfigScope.PAPER, changes={"limit_offset_bps": Decimal("2.5")})
    assert effective_config("paper").limit_offset_bps == Decimal("2.5")
    assert effective_config("live").limit_offset_bps == Decimal("10")
    assert effective_config("paper").as_dict()["limit_offset_bps"] == "2.50"


def test_it_lets_a_mode_override_common_and_inherits_where_the_mode_is_blank():
    config_update(scope=ConfigScope.PAPER, changes={"overall_exposure": Decimal("0.5"), "max_order_quantity": 7})
    paper = effective_config("paper")
    live = effective_config("live")
    assert paper.overall_exposure == Decimal("0.5")
    assert paper.max_order_quantity == 7
    assert live.overall_exposure == Decimal("0.9")  # live row blank: common wins
    assert paper.soft_stop is False  # inherited from common


def test_it_reads_fresh_on_every_call():
    assert effective_config().trading_enabled is False
    TradingConfig.objects.filter(scope=ConfigScope.COMMON).update(trading_enabled=True)
    assert effective_config().trading_enabled is True


def test_it_parses_allowed_symbols():
    config_update(scope=ConfigScope.COMMON, changes={"allowed_symbols": "spy, QQQ  eur.usd"})
    config = effective_config()
    assert config.allowed_symbols == ["SPY", "QQQ", "EUR.USD"]
    assert config.symbol_allowed("qqq") and not config.symbol_allowed("AAPL")


def test_live_starts_with_its_own_kill_switch_on():
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True})
    assert effective_config("live").trading_enabled is False
    assert effective_config("live").kill_switch_by == ["live"]


# ----- a stop anywhere stops ------------------------------------------------------------------------------


def test_a_stop_in_common_stops_trading_even_when_the_paper_row_allows_it():
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": True})
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": False})
    config = effective_config()
    assert config.trading_enabled is False and config.kill_switch_by == ["common"]


def test_a_stop_in_the_mode_row_stops_trading_even_when_common_allows_it():
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True})
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": False})
    assert (effective_config().trading_enabled, effective_config().kill_switch_by) == (False, ["paper"])
    assert effective_config("live").kill_switch_by == ["live"]  # paper's stop is paper's alone


def test_trading_is_allowed_only_when_common_and_the_mode_row_allow_it_a_blank_mode_row_having_no_opinion():
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True})
    assert TradingConfig.objects.get(scope=ConfigScope.PAPER).trading_enabled is None
    assert (effective_config().trading_enabled, effective_config().kill_switch_by) == (True, [])
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": True})
    assert effective_config().trading_enabled is True


def test_both_rows_are_named_when_both_stop_trading():
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": False})
    assert effective_config().kill_switch_by == ["common", "paper"]


def test_soft_stop_is_on_when_either_row_holds_it():
    config_update(scope=ConfigScope.PAPER, changes={"soft_stop": True})
    assert (effective_config().soft_stop, effective_config().soft_stop_by) == (True, ["paper"])
    config_update(scope=ConfigScope.PAPER, changes={"soft_stop": False})
    config_update(scope=ConfigScope.COMMON, changes={"soft_stop": True})
    assert (effective_config().soft_stop, effective_config().soft_stop_by) == (True, ["common"])  # paper's "off" is no override


def test_a_blank_switch_on_the_common_row_reads_as_a_stop():
    TradingConfig.objects.filter(scope=ConfigScope.COMMON).update(trading_enabled=None, soft_stop=None)
    config = effective_config()
    assert (config.trading_enabled, config.kill_switch_by, config.soft_stop_by) == (False, ["common"], ["common"])


def test_the_holders_are_in_the_dict_and_in_the_live_config_update_event():
    config_update(scope=ConfigScope.PAPER, changes={"soft_stop": True})
    assert effective_config().as_dict()["kill_switch_by"] == ["common"]
    event = config_event()
    assert event["type"] == "config.update"
    payload = event["payload"]
    assert (payload["kill_switch"], payload["kill_switch_by"], payload["soft_stop"], payload["soft_stop_by"]) == (
        True, ["common"], True, ["paper"],
    )  # fmt: skip
    assert payload["switches"] == "trading is stopped by the common settings (kill switch)"


def test_the_state_line_names_the_row_that_stops_trading_and_how_to_resume():
    assert switch_state_line() == (
        "trading is stopped by the common settings (kill switch); resume with: python manage.py switch resume --scope common"
    )
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": False})
    assert switch_state_line() == (
        "trading is stopped by the common and paper settings (kill switch); resume with: python manage.py switch resume"
    )
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True, "soft_stop": True})
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": None})
    assert switch_state_line() == (
        "paper mode trades reduce-only: soft stop held by the common settings; "
        "lift with: python manage.py switch soft-stop off --scope common"
    )
    config_update(scope=ConfigScope.COMMON, changes={"soft_stop": False})
    assert (
        switches_describe(effective_config())
        == switch_state_line()
        == "trading is on in paper mode (no kill switch, no soft stop)"
    )


# ----- switches are set, never toggled ---------------------------------------------------------------------


def test_engaging_a_switch_writes_common_by_default_and_a_repeat_changes_nothing():
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True})
    first = switch_set(switch="kill_switch", on=True, source="test")
    again = switch_set(switch="kill_switch", on=True, source="test")
    assert [(c.scope, c.before, c.after) for c in first] == [("common", True, False)] and again == []
    assert ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE).count() == 2  # the setup and one stop


def test_releasing_a_switch_by_default_releases_every_row_that_holds_it_for_the_active_mode():
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": False})
    config_update(scope=ConfigScope.LIVE, changes={"soft_stop": True})
    changes = switch_set(switch="kill_switch", on=False, source="test")
    assert [(c.scope, c.after) for c in changes] == [("common", True), ("paper", True)]
    assert effective_config().trading_enabled is True
    assert TradingConfig.objects.get(scope=ConfigScope.LIVE).trading_enabled is False  # not the active mode: untouched
    assert switch_set(switch="kill_switch", on=False, source="test") == []


def test_releasing_one_row_leaves_the_stop_of_another_in_force():
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": False})
    switch_set(switch="kill_switch", on=False, scope=ConfigScope.PAPER, source="test")
    assert effective_config().kill_switch_by == ["common"]


def test_an_unknown_switch_is_refused():
    with pytest.raises(ValueError, match="unknown switch 'panic'"):
        switch_set(switch="panic", on=True, source="test")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"overall_exposure": Decimal("1.5")}, "overall_exposure"),
        ({"overall_exposure": Decimal("-0.1")}, "overall_exposure"),
        ({"max_order_notional": Decimal("-1")}, "max_order_notional"),
        ({"daily_loss_limit": Decimal("-5")}, "daily_loss_limit"),
        ({"allowed_symbols": "SPY, $$$, QQQ"}, "allowed_symbols"),
        ({"active_mode": "demo"}, "active_mode"),
        ({"market_data_type": 9}, "market_data_type"),
        ({"trading_enabled": None}, "trading_enabled"),
        ({"limit_offset_bps": Decimal("-1")}, "limit_offset_bps"),
        ({"limit_offset_bps": None}, "limit_offset_bps"),
        ({"default_order_type": "STP"}, "default_order_type"),
    ],
)
def test_it_rejects_invalid_values_naming_the_field_and_saves_nothing(changes, field):
    before = TradingConfig.objects.get(scope=ConfigScope.COMMON)
    with pytest.raises(ValidationError) as caught:
        config_update(scope=ConfigScope.COMMON, changes=changes)
    assert field in caught.value.message_dict
    after = TradingConfig.objects.get(scope=ConfigScope.COMMON)
    assert getattr(after, field) == getattr(before, field)
    assert not ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE).exists()


def test_it_refuses_the_active_mode_on_a_mode_scope():
    with pytest.raises(ValidationError) as caught:
        config_update(scope=ConfigScope.PAPER, changes={"active_mode": "live"})
    assert "active_mode" in caught.value.message_dict


def test_it_rejects_an_unknown_scope_and_an_unknown_field():
    with pytest.raises(ValueError, match="unknown trading mode 'demo'"):
        config_update(scope="demo", changes={"soft_stop": True})
    with pytest.raises(ValueError, match="'colour' is not a trading setting"):
        config_update(scope=ConfigScope.COMMON, changes={"colour": "red"})
    with pytest.raises(ValueError, match="unknown trading mode"):
        effective_config("demo")


def test_a_change_is_recorded_with_who_made_it(alice):
    config_update(scope=ConfigScope.COMMON, changes={"soft_stop": True}, user=alice, source="test")
    entry = ActivityEntry.objects.get(kind=ActivityKind.CONFIG_CHANGE)
    assert entry.actor == alice
    assert entry.payload["changes"] == {"soft_stop": {"from": False, "to": True}}
    assert "alice changed common settings" in entry.message
    assert TradingConfig.objects.get(scope=ConfigScope.COMMON).updated_by == alice


def test_a_change_to_the_same_value_records_nothing():
    config_update(scope=ConfigScope.COMMON, changes={"soft_stop": False})
    assert not ActivityEntry.objects.exists()
