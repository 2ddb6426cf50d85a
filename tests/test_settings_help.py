"""The trading settings' help texts read the right way round: a Yes/No field says what Yes and No do."""

import pytest
from django.urls import reverse

from trading.models import ConfigScope, TradingConfig

pytestmark = pytest.mark.django_db


def help_text(name: str) -> str:
    return str(TradingConfig._meta.get_field(name).help_text)


def test_the_kill_switch_help_says_what_yes_and_no_mean():
    text = help_text("trading_enabled")
    assert text.startswith("Yes: orders may be sent. No: the kill switch is engaged and every new order is refused")
    assert "off refuses" not in text


def test_soft_stop_and_the_other_yes_no_settings_say_what_each_answer_does():
    assert help_text("soft_stop").startswith("Yes: reduce-only")
    for name in ("enforce_flat_eod", "flatten_unowned_positions", "what_if_check", "dry_run_default", "cancel_foreign_orders"):
        assert help_text(name).startswith("Yes: ") and " No: " in help_text(name), name
    for name in ("daily_loss_limit", "max_gross_exposure"):
        assert "engages the kill switch (sets trading enabled to No)" in help_text(name)


def test_the_admin_form_shows_the_label_next_to_help_that_agrees_with_it(alice_client):
    common = TradingConfig.objects.get(scope=ConfigScope.COMMON)
    body = alice_client.get(reverse("admin:trading_tradingconfig_change", args=[common.pk])).content.decode()
    assert "Trading enabled" in body and "Yes: orders may be sent. No: the kill switch is engaged" in body
    assert "Kill switch: off refuses" not in body
    assert "the IANA time zone (e.g. America/New_York) every page shows times in" in body
