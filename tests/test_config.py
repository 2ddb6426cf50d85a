from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from trading.config import config_update, effective_config
from trading.models import ActivityEntry, ActivityKind, ConfigScope, TradingConfig

pytestmark = pytest.mark.django_db


def test_it_starts_paper_with_trading_disabled_and_the_seed_values():
    config = effective_config()
    assert config.mode == "paper"
    assert config.trading_enabled is False
    assert config.overall_exposure == Decimal("0.9")
    assert config.market_data_type == 2


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
