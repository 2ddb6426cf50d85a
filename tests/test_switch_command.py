"""`manage.py switch`: shows every row's switches and what is in force, and sets them (never toggles)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trading.config import config_update, effective_config
from trading.models import ActivityEntry, ActivityKind, ConfigScope, TradingConfig

pytestmark = pytest.mark.django_db


def switch(*args) -> str:
    out = StringIO()
    call_command("switch", *args, stdout=out)
    return out.getvalue()


def changes() -> list[dict]:
    return [entry.payload for entry in ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE).order_by("pk")]


def test_with_no_argument_it_shows_each_row_and_what_is_in_force_and_which_row_holds_it():
    config_update(scope=ConfigScope.PAPER, changes={"soft_stop": True})
    lines = switch().splitlines()
    assert lines[1].split()[:3] == ["common", "STOPS", "trading"] and "(active mode: paper)" in lines[1]
    assert lines[2].split() == ["paper", "no", "opinion", "soft", "stop", "ON"]
    assert lines[3].split() == ["live", "STOPS", "trading", "no", "opinion"]
    assert lines[4] == (
        "in force: trading is stopped by the common settings (kill switch); "
        "resume with: python manage.py switch resume --scope common"
    )


def test_kill_writes_common_by_default_through_config_update_with_source_cli_and_a_repeat_changes_nothing():
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True})
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": True})
    out = switch("kill")
    assert "Trading is now stopped in the common settings (all modes): kill switch on." in out
    assert effective_config().kill_switch_by == ["common"]
    assert changes()[-1] == {"scope": "common", "changes": {"trading_enabled": {"from": True, "to": False}}, "source": "cli"}
    count = len(changes())
    assert "nothing changed" in switch("kill") and len(changes()) == count


def test_kill_with_a_scope_writes_that_row():
    switch("kill", "--scope", "paper")
    assert TradingConfig.objects.get(scope=ConfigScope.PAPER).trading_enabled is False
    assert effective_config().kill_switch_by == ["common", "paper"]


def test_resume_by_default_releases_every_row_that_holds_the_stop_for_the_active_mode_and_prints_what_changed():
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": False})
    out = switch("resume")
    assert "Trading is now enabled in the common settings (all modes)." in out
    assert "Trading is now enabled for paper." in out
    assert "in force: trading is on in paper mode" in out
    assert effective_config().trading_enabled is True
    assert TradingConfig.objects.get(scope=ConfigScope.LIVE).trading_enabled is False  # not the active mode


def test_resume_of_one_scope_says_trading_is_still_stopped_by_another():
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": False})
    out = switch("resume", "--scope", "paper")
    assert "in force: trading is stopped by the common settings (kill switch)" in out
    assert effective_config().kill_switch_by == ["common"]


def test_soft_stop_on_and_off():
    switch("soft-stop", "on")
    assert effective_config().soft_stop_by == ["common"]
    switch("soft-stop", "on", "--scope", "paper")
    out = switch("soft-stop", "off")
    assert "Soft stop is now off in the common settings (all modes)." in out and "Soft stop is now off for paper." in out
    assert effective_config().soft_stop is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("soft-stop",), "soft-stop needs on or off"),
        (("kill", "on"), "kill takes no on/off"),
        (("resume", "off"), "resume takes no on/off"),
        (("--scope", "paper"), "nothing to set"),
    ],
)
def test_bad_combinations_are_refused_with_a_clear_error_and_change_nothing(args, message):
    before = list(TradingConfig.objects.values())
    with pytest.raises(CommandError, match=message):
        switch(*args)
    assert list(TradingConfig.objects.values()) == before


@pytest.mark.parametrize("args", [("kill", "--scope", "demo"), ("panic",), ("soft-stop", "maybe")])
def test_an_unknown_scope_action_or_state_exits_non_zero(args):
    from django.core.management import ManagementUtility

    before = list(TradingConfig.objects.values())
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "switch", *args]).execute()
    assert exited.value.code != 0
    assert list(TradingConfig.objects.values()) == before


@pytest.fixture
def two_accounts(db):
    from trading.models import IBConnection

    IBConnection.objects.create(name="one", port=4002, client_id=11, accounts=["DU1"])
    IBConnection.objects.create(name="two", port=4002, client_id=12, accounts=["DU2"])
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True})
    config_update(scope=ConfigScope.PAPER, changes={"trading_enabled": True})


def test_kill_with_an_account_stops_that_account_only_and_shows_its_row(two_accounts):
    out = switch("kill", "--account", "DU2")
    assert "Trading is now stopped for account DU2: kill switch on." in out
    assert "account DU2  STOPS trading" in out
    assert out.splitlines()[-1] == (
        "in force (account DU2): trading is stopped by the account DU2 settings (kill switch); "
        "resume with: python manage.py switch resume --account DU2"
    )
    assert effective_config(account="DU1").trading_enabled is True
    assert changes()[-1] == {
        "scope": "account", "account": "DU2", "changes": {"trading_enabled": {"from": None, "to": False}}, "source": "cli"
    }  # fmt: skip
    assert "nothing changed" in switch("kill", "--account", "DU2")
    switch("resume", "--account", "DU2")
    assert effective_config(account="DU2").trading_enabled is True


def test_soft_stop_with_an_account(two_accounts):
    assert "Soft stop is now on for account DU1: reduce-only." in switch("soft-stop", "on", "--account", "DU1")
    assert effective_config(account="DU1").soft_stop_by == ["account DU1"]


def test_an_unknown_account_is_refused_with_the_known_ones_and_nothing_changes(two_accounts):
    before = list(TradingConfig.objects.values())
    with pytest.raises(CommandError, match=r"unknown account 'DU9': no IB connection lists it \(known: DU1, DU2\)") as caught:
        switch("kill", "--account", "DU9")
    assert caught.value.returncode == 2
    assert list(TradingConfig.objects.values()) == before
    with pytest.raises(CommandError, match="an account is set on its own row"):
        switch("kill", "--scope", "live", "--account", "DU1")
    assert list(TradingConfig.objects.values()) == before
