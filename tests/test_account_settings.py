"""Account rows: a kill switch, a soft stop and risk limits per IB account, on top of common and the mode.

Switches: a stop anywhere stops (common, the mode's row, the account's row). Limits: the account's only
tighten the mode's. Unknown accounts and fields an account row does not hold are refused, saving nothing.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trading.config import config_update, effective_config, switch_set, switch_state_line, switch_status
from trading.models import ActivityEntry, ActivityKind, ConfigScope, IBConnection, TradingConfig

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def accounts(db):
    """Two accounts on two connections, trading allowed everywhere."""
    IBConnection.objects.create(name="one", port=4002, client_id=11, mode="paper", accounts=["DU1"])
    IBConnection.objects.create(name="two", port=4002, client_id=12, mode="paper", accounts=["DU2"])
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True})
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": True})


def test_an_accounts_kill_switch_stops_that_account_and_not_another():
    switch_set(switch="kill_switch", on=True, account="DU2", source="test")
    du2, du1 = effective_config("paper", account="DU2"), effective_config("paper", account="DU1")
    assert (du2.trading_enabled, du2.kill_switch_by, du2.account) == (False, ["account DU2"], "DU2")
    assert (du1.trading_enabled, du1.kill_switch_by) == (True, [])
    assert effective_config("live", account="DU2").kill_switch_by == ["live", "account DU2"]  # live is seeded stopped


def test_a_stop_anywhere_stops_common_mode_and_account_rows_all_named():
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": False})
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": False, "soft_stop": True})
    config_update(scope=ConfigScope.ACCOUNT, account="DU1", changes={"trading_enabled": False, "soft_stop": True})
    config = effective_config("paper", account="DU1")
    assert config.kill_switch_by == ["common", "paper", "account DU1"]
    assert config.soft_stop_by == ["paper", "account DU1"]
    # An account row saying "allow" does not lift a stop elsewhere.
    config_update(scope=ConfigScope.ACCOUNT, account="DU1", changes={"trading_enabled": True})
    assert effective_config("paper", account="DU1").kill_switch_by == ["common", "paper"]


def test_an_accounts_soft_stop_is_named_in_the_status_and_the_state_line_says_how_to_lift_it():
    switch_set(switch="soft_stop", on=True, account="DU2", source="test")
    config = effective_config("paper", account="DU2")
    status = switch_status(config)
    assert (status["soft_stop"], status["soft_stop_by"], status["account"]) == (True, ["account DU2"], "DU2")
    line = switch_state_line("paper", "DU2")
    assert "soft stop held by the account DU2 settings" in line
    assert line.endswith("python manage.py switch soft-stop off --account DU2")


def test_account_limits_only_tighten_the_modes():
    config_update(scope=ConfigScope.PAPER, changes={"max_order_quantity": 100, "allowed_symbols": "SPY QQQ IWM"})
    config_update(
        scope=ConfigScope.ACCOUNT, account="DU1",
        changes={"max_order_quantity": 10, "max_order_notional": Decimal("5000"), "allowed_symbols": "QQQ, TLT"},
    )  # fmt: skip
    config_update(scope=ConfigScope.ACCOUNT, account="DU2", changes={"max_order_quantity": 500})
    du1, du2 = effective_config("paper", account="DU1"), effective_config("paper", account="DU2")
    assert (du1.max_order_quantity, du1.max_order_notional, du1.allowed_symbols) == (10, Decimal("5000"), ["QQQ"])
    seeded = effective_config("paper").max_order_notional
    assert (du2.max_order_quantity, du2.max_order_notional, du2.allowed_symbols) == (100, seeded, ["SPY", "QQQ", "IWM"])
    config_update(scope=ConfigScope.ACCOUNT, account="DU1", changes={"daily_loss_limit": Decimal("300")})
    config_update(scope=ConfigScope.COMMON, changes={"daily_loss_limit": Decimal("1000")})
    assert effective_config("paper", account="DU1").daily_loss_limit == Decimal("300")
    assert effective_config("paper", account="DU2").daily_loss_limit == Decimal("1000")


def test_without_an_account_the_row_of_the_account_the_settings_name_applies():
    switch_set(switch="kill_switch", on=True, account="DU1", source="test")
    assert effective_config("paper").trading_enabled is True  # no account named anywhere
    config_update(scope=ConfigScope.COMMON, changes={"account": "DU1"})
    assert effective_config("paper").kill_switch_by == ["account DU1"]


def test_the_read_is_one_query_whatever_the_number_of_account_rows():
    for account in ("DU1", "DU2"):
        switch_set(switch="kill_switch", on=True, account=account, source="test")
    with CaptureQueriesContext(connection) as queries:
        effective_config("paper", account="DU2")
    assert len(queries) == 1


def test_releasing_by_default_releases_the_account_row_that_holds_the_stop():
    config_update(scope=ConfigScope.COMMON, changes={"account": "DU2"})
    switch_set(switch="kill_switch", on=True, account="DU2", source="test")
    changes = switch_set(switch="kill_switch", on=False, source="test")
    assert [(c.scope, c.account, c.after) for c in changes] == [("account", "DU2", True)]
    assert effective_config().trading_enabled is True


def test_an_unknown_account_is_refused_naming_the_known_ones_and_nothing_is_saved():
    with pytest.raises(ValueError, match=r"unknown account 'DU9': no IB connection lists it \(known: DU1, DU2\)"):
        switch_set(switch="kill_switch", on=True, account="DU9", source="test")
    assert not TradingConfig.objects.filter(scope=ConfigScope.ACCOUNT).exists()
    assert not ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE, message__contains="DU9").exists()


def test_an_account_row_holds_only_switches_and_limits():
    with pytest.raises(ValueError, match="'overall_exposure' is not an account setting"):
        config_update(scope=ConfigScope.ACCOUNT, account="DU1", changes={"overall_exposure": Decimal("0.5")})
    with pytest.raises(ValueError, match="the account scope needs an account"):
        config_update(scope=ConfigScope.ACCOUNT, changes={"trading_enabled": False})
    with pytest.raises(ValueError, match="an account is set on its own row"):
        switch_set(switch="kill_switch", on=True, scope="paper", account="DU1", source="test")
    with pytest.raises(ValidationError) as caught:
        config_update(scope=ConfigScope.ACCOUNT, account="DU1", changes={"max_order_notional": Decimal("-1")})
    assert "max_order_notional" in caught.value.message_dict
    assert not TradingConfig.objects.filter(scope=ConfigScope.ACCOUNT).exists()


def test_the_activity_entry_names_who_flipped_which_accounts_switch(django_user_model):
    alice = django_user_model.objects.create_user("alice", is_staff=True)
    switch_set(switch="kill_switch", on=True, account="DU2", user=alice, source="api")
    entry = ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE).latest("pk")
    assert entry.message == "alice changed account DU2 settings (trading enabled: no opinion → no)"
    assert entry.actor == alice
    assert entry.payload["account"] == "DU2" and entry.payload["source"] == "api"
    assert str(TradingConfig.objects.get(scope=ConfigScope.ACCOUNT, account="DU2")) == "Account DU2"


def test_a_row_whose_connection_went_away_still_stops_and_can_still_be_released():
    switch_set(switch="kill_switch", on=True, account="DU2", source="test")
    IBConnection.objects.filter(name="two").delete()
    assert effective_config("paper", account="DU2").kill_switch_by == ["account DU2"]
    switch_set(switch="kill_switch", on=False, account="DU2", source="test")
    assert effective_config("paper", account="DU2").trading_enabled is True
    with pytest.raises(ValueError, match="unknown account 'DU3'"):
        switch_set(switch="kill_switch", on=True, account="DU3", source="test")
