import re

import pytest
from django.urls import reverse

from trading.config import effective_config
from trading.models import ActivityEntry, ActivityKind, ApiToken, ConfigScope, Order, Strategy, TradingConfig
from trading.tokens import token_authenticate

pytestmark = pytest.mark.django_db


def common_config():
    return TradingConfig.objects.get(scope=ConfigScope.COMMON)


def form_data(client, url):
    """The change form's current values as a browser would post them (null booleans as a select)."""
    form = client.get(url).context["adminform"].form
    encode = {None: "", True: "true", False: "false"}
    return {name: encode.get(value, value) if isinstance(value, bool | None) else value for name, value in form.initial.items()}


def set_url(field, value, scope=ConfigScope.COMMON):
    config = TradingConfig.objects.get(scope=scope)
    return reverse("admin:trading_tradingconfig_set", args=[config.pk, field, value])


@pytest.fixture
def dave(django_user_model):
    """Staff, but with no permissions."""
    return django_user_model.objects.create_user("dave", "dave@example.com", "dave-password-1", is_staff=True)


def test_the_settings_list_shows_the_switch_in_force_which_row_holds_it_and_set_buttons(alice_client):
    TradingConfig.objects.filter(scope=ConfigScope.PAPER).update(soft_stop=True)
    response = alice_client.get(reverse("admin:trading_tradingconfig_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "PAPER</strong> mode" in body
    assert "STOPPED (kill switch) by common</strong>" in body
    assert "ON (reduce only) by paper</strong>" in body
    assert 'data-set="common-trading_enabled-true"' in body and 'data-set="common-trading_enabled-false"' not in body
    assert 'data-set="paper-trading_enabled-false"' in body and 'data-set="paper-trading_enabled-none"' not in body
    assert 'data-set="common-trading_enabled-none"' not in body  # common must have a value
    assert 'id="config-switch-form"' in body


def test_it_sets_the_kill_switch_from_the_list_page_and_records_who(alice_client, alice):
    response = alice_client.post(set_url("trading_enabled", "true"))
    assert response.status_code == 302
    assert common_config().trading_enabled is True
    entry = ActivityEntry.objects.get(kind=ActivityKind.CONFIG_CHANGE)
    assert entry.actor == alice and entry.payload["source"] == "admin"
    assert entry.payload["changes"]["trading_enabled"] == {"from": False, "to": True}


def test_two_posts_to_stop_leave_trading_stopped_a_double_click_is_harmless(alice_client):
    TradingConfig.objects.filter(scope=ConfigScope.COMMON).update(trading_enabled=True)
    for _ in range(2):
        assert alice_client.post(set_url("trading_enabled", "false")).status_code == 302
        assert common_config().trading_enabled is False
    assert ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE).count() == 1


def test_the_old_toggle_url_flips_nothing(alice_client):
    config = common_config()
    for _ in range(2):
        alice_client.post(f"/admin/trading/tradingconfig/{config.pk}/toggle/trading_enabled/")
        assert common_config().trading_enabled is False
    assert not ActivityEntry.objects.exists()


def test_a_mode_row_can_be_set_to_no_opinion_and_its_stop_holds_over_common(alice_client):
    TradingConfig.objects.filter(scope=ConfigScope.COMMON).update(trading_enabled=True)
    alice_client.post(set_url("trading_enabled", "false", ConfigScope.PAPER))
    assert effective_config().kill_switch_by == ["paper"]
    page = alice_client.get(reverse("admin:trading_tradingconfig_changelist")).content.decode()
    assert "STOPPED (kill switch) by paper</strong>" in page
    alice_client.post(set_url("trading_enabled", "none", ConfigScope.PAPER))
    assert TradingConfig.objects.get(scope=ConfigScope.PAPER).trading_enabled is None
    assert effective_config().trading_enabled is True


def test_no_opinion_on_the_common_row_is_refused_with_a_message(alice_client):
    response = alice_client.post(set_url("soft_stop", "none"), follow=True)
    assert "The common settings must set this value" in " ".join(str(m) for m in response.context["messages"])
    assert common_config().soft_stop is False


def test_setting_needs_a_post_a_known_row_switch_and_value_and_the_change_permission(client, alice_client, bob, dave):
    assert alice_client.get(set_url("trading_enabled", "true")).status_code == 405
    assert alice_client.post(set_url("overall_exposure", "true")).status_code == 404
    assert alice_client.post(set_url("trading_enabled", "maybe")).status_code == 404
    missing = reverse("admin:trading_tradingconfig_set", args=[999, "trading_enabled", "true"])
    assert alice_client.post(missing).status_code == 404
    client.force_login(dave)  # staff without permissions
    assert client.get(reverse("admin:trading_tradingconfig_changelist")).status_code == 403
    assert client.post(set_url("trading_enabled", "true")).status_code == 403
    client.force_login(bob)
    response = client.post(set_url("trading_enabled", "true"))
    assert response.status_code == 302 and "/login/" in response.url
    assert common_config().trading_enabled is False and not ActivityEntry.objects.exists()


def test_an_invalid_value_in_the_form_is_refused_naming_the_field(alice_client):
    config = common_config()
    url = reverse("admin:trading_tradingconfig_change", args=[config.pk])
    data = form_data(alice_client, url)
    data.update({"overall_exposure": "1.5", "max_order_notional": "-3", "allowed_symbols": "SPY,@@"})
    response = alice_client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) >= {"overall_exposure", "max_order_notional", "allowed_symbols"}
    assert common_config().overall_exposure == config.overall_exposure
    assert not ActivityEntry.objects.exists()


def test_a_valid_form_change_is_recorded(alice_client, alice):
    config = common_config()
    url = reverse("admin:trading_tradingconfig_change", args=[config.pk])
    data = form_data(alice_client, url)
    data["overall_exposure"] = "0.75"
    assert alice_client.post(url, data).status_code == 302
    entry = ActivityEntry.objects.get(kind=ActivityKind.CONFIG_CHANGE)
    assert entry.payload["changes"] == {"overall_exposure": {"from": "0.9", "to": "0.75"}}
    assert entry.actor == alice


def test_strategies_enable_in_place_from_the_list(alice_client):
    strategies = list(Strategy.objects.order_by("strategy_id"))
    data = {
        "form-TOTAL_FORMS": str(len(strategies)),
        "form-INITIAL_FORMS": str(len(strategies)),
        "_save": "Save",
    }
    for i, strategy in enumerate(strategies):
        data[f"form-{i}-id"] = str(strategy.pk)
        data[f"form-{i}-exposure"] = str(strategy.exposure)
        if strategy.strategy_id != "spy_macd_vixy":
            data[f"form-{i}-enabled"] = "on"
    response = alice_client.post(reverse("admin:trading_strategy_changelist"), data)
    assert response.status_code == 302
    assert Strategy.objects.get(strategy_id="spy_macd_vixy").enabled is False
    assert Strategy.objects.get(strategy_id="testsignalgenerator").enabled is True
    entry = ActivityEntry.objects.get(strategy="spy_macd_vixy")
    assert entry.payload["changes"] == {"enabled": {"from": "True", "to": "False"}}


def test_records_are_read_only_searchable_and_filterable(alice_client):
    Order.objects.create(mode="paper", strategy="s1", symbol="SPY", action="BUY", total_quantity=5, status="Filled")
    Order.objects.create(mode="paper", strategy="s2", symbol="QQQ", action="SELL", total_quantity=1, status="Cancelled")
    url = reverse("admin:trading_order_changelist")
    assert alice_client.get(url + "?status__exact=Filled").context["cl"].result_count == 1
    assert alice_client.get(url + "?q=QQQ").context["cl"].result_count == 1
    assert alice_client.get(url + "?mode=paper&strategy=s1").status_code == 200
    assert alice_client.get(reverse("admin:trading_order_add")).status_code == 403
    for name in ("activityentry", "fill", "intentrun", "position", "holding", "accountvalue", "handlerstat"):
        assert alice_client.get(reverse(f"admin:trading_{name}_changelist")).status_code == 200
        assert alice_client.get(reverse(f"admin:trading_{name}_add")).status_code == 403


def test_a_token_created_in_the_admin_is_shown_once_and_works(alice_client, alice):
    response = alice_client.post(
        reverse("admin:trading_apitoken_add"), {"user": alice.pk, "name": "cron", "read_only": "on"}, follow=True
    )
    text = " ".join(str(m) for m in response.context["messages"])
    plaintext = re.search(r"(ibc_\S+)", text).group(1)
    token = ApiToken.objects.get()
    assert token.read_only and token.name == "cron"
    assert token_authenticate(plaintext).pk == token.pk
    page = alice_client.get(reverse("admin:trading_apitoken_change", args=[token.pk])).content.decode()
    assert plaintext not in page


def test_a_kill_switch_flip_in_the_admin_is_pushed_to_open_dashboards(
    alice_client, redis_url, django_capture_on_commit_callbacks
):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from trading.live import live_group

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(live_group(), channel)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            alice_client.post(set_url("trading_enabled", "true"))
        message = async_to_sync(layer.receive)(channel)
    finally:
        async_to_sync(layer.group_discard)(live_group(), channel)
    event = message["event"]
    assert event["type"] == "config.update"
    assert event["payload"]["trading_enabled"] is True and event["payload"]["kill_switch"] is False
    assert event["payload"]["kill_switch_by"] == []


@pytest.fixture
def two_accounts(db):
    from trading.models import IBConnection

    IBConnection.objects.create(name="one", port=4002, client_id=11, accounts=["DU1"])
    IBConnection.objects.create(name="two", port=4002, client_id=12, accounts=["DU2"])


def test_staff_add_an_account_row_with_its_switches_and_limits_and_it_is_recorded(alice_client, alice, two_accounts):
    TradingConfig.objects.filter(scope=ConfigScope.COMMON).update(trading_enabled=True)
    url = reverse("admin:trading_tradingconfig_add")
    form = alice_client.get(url).context["adminform"].form
    assert set(form.fields) == {"account", "trading_enabled", "soft_stop", "max_order_quantity", "max_order_notional",
                                "allowed_symbols", "daily_loss_limit", "max_gross_exposure"}  # fmt: skip
    response = alice_client.post(url, {"account": "DU2", "trading_enabled": "false", "soft_stop": "", "max_order_quantity": "7"})
    assert response.status_code == 302
    row = TradingConfig.objects.get(scope=ConfigScope.ACCOUNT, account="DU2")
    assert (row.trading_enabled, row.max_order_quantity, row.updated_by) == (False, 7, alice)
    assert effective_config(account="DU2").kill_switch_by == ["account DU2"]
    assert effective_config(account="DU1").max_order_quantity != 7
    entry = ActivityEntry.objects.get(kind=ActivityKind.CONFIG_CHANGE)
    assert entry.actor == alice and entry.message.startswith("alice changed account DU2 settings")
    page = alice_client.get(reverse("admin:trading_tradingconfig_changelist")).content.decode()
    assert "Account DU2" in page and 'data-set="account:DU2-trading_enabled-true"' in page


def test_an_account_row_for_an_unknown_account_or_a_second_one_is_refused(alice_client, two_accounts):
    url = reverse("admin:trading_tradingconfig_add")
    response = alice_client.post(url, {"account": "DU9", "trading_enabled": "false", "soft_stop": ""})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["account"][0].startswith("unknown account 'DU9'")
    assert alice_client.post(url, {"account": "DU1", "trading_enabled": "", "soft_stop": ""}).status_code == 302
    again = alice_client.post(url, {"account": "DU1", "trading_enabled": "false", "soft_stop": ""})
    assert again.status_code == 200 and TradingConfig.objects.filter(scope=ConfigScope.ACCOUNT).count() == 1
    assert again.context["adminform"].form.errors["account"] == ["Account DU1 already has its settings row: change that one."]


def test_an_account_rows_switch_buttons_set_that_row_and_deleting_it_is_recorded(alice_client, alice, two_accounts):
    from trading.config import config_update

    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True})
    row = config_update(scope=ConfigScope.ACCOUNT, account="DU1", changes={"soft_stop": True})
    set_row = reverse("admin:trading_tradingconfig_set", args=[row.pk, "trading_enabled", "false"])
    response = alice_client.post(set_row, follow=True)
    assert "Trading is now stopped for account DU1: kill switch on" in response.content.decode()
    assert effective_config(account="DU1").kill_switch_by == ["account DU1"]
    assert alice_client.post(reverse("admin:trading_tradingconfig_delete", args=[row.pk]), {"post": "yes"}).status_code == 302
    assert effective_config(account="DU1").trading_enabled is True
    assert ActivityEntry.objects.filter(message="alice deleted account DU1 settings (its switches and limits no longer apply)").exists()
    common = common_config()
    assert alice_client.post(reverse("admin:trading_tradingconfig_delete", args=[common.pk]), {"post": "yes"}).status_code == 403
