"""trading/dbreads.py: a SELECT written once gives the same model instances as the ORM. Runs on both
backends in CI (their converters differ: SQLite hands back text for dates and decimals, 0/1 for booleans)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from trading.config import config_update
from trading.dbreads import ModelRead
from trading.models import ApiToken, ConfigScope, TradingConfig
from trading.tokens import token_authenticate, token_create, token_revoke

pytestmark = pytest.mark.django_db


def fields(instance) -> dict:
    return {name: value for name, value in instance.__dict__.items() if name != "_state"}


def test_a_token_and_its_user_are_read_as_the_orm_reads_them():
    user = get_user_model().objects.create_user("reader", "r@example.com", "pw-1234567890", is_staff=True)
    user.last_login = timezone.now() - timedelta(days=1)
    user.save()
    token, plaintext = token_create(user=user, name="script", read_only=True)

    checked = token_authenticate(plaintext)

    orm = ApiToken.objects.select_related("user").get(pk=token.pk)  # its last use recorded by the check
    assert fields(checked) == fields(orm) and checked.pk == token.pk
    assert fields(checked.user) == fields(orm.user)
    assert checked._state.fields_cache["user"] is checked.user, "the user comes with it, as select_related gives it"
    assert checked.read_only is True and checked.user.is_staff is True and checked.user.last_login == user.last_login
    assert not checked._state.adding and checked._state.db == "default"


def test_a_revoked_token_or_an_inactive_users_token_or_an_unknown_one_is_refused():
    user = get_user_model().objects.create_user("gone", "g@example.com", "pw-1234567890")
    revoked, revoked_text = token_create(user=user, name="old")
    token_revoke(token=revoked)
    _, live_text = token_create(user=user, name="live")
    assert token_authenticate(live_text) is not None

    assert token_authenticate(revoked_text) is None
    assert token_authenticate(live_text[:-1] + ("A" if live_text[-1] != "A" else "B")) is None
    user.is_active = False
    user.save()
    assert token_authenticate(live_text) is None


def test_every_kind_of_column_comes_back_as_the_orm_gives_it():
    config_update(scope=ConfigScope.COMMON, changes={"max_order_notional": Decimal("12345.67"), "allowed_symbols": "SPY, QQQ"})
    read = ModelRead(TradingConfig, where="1 = %s")

    rows = sorted(read([1]), key=lambda row: row.pk)

    assert [fields(row) for row in rows] == [fields(row) for row in TradingConfig.objects.order_by("pk")]
    common = next(row for row in rows if row.scope == ConfigScope.COMMON)
    assert common.max_order_notional == Decimal("12345.67") and isinstance(common.trading_enabled, bool)
