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


def test_the_routing_read_gives_the_orms_rows_in_the_orms_order():
    from trading.intents.runs import Routing
    from trading.models import IBConnection, WorkerHeartbeat
    from trading.worker.health import worker_name

    for at, name in enumerate(("desk2", "alpha", "zeta")):
        IBConnection.objects.create(name=name, host="127.0.0.1", port=4002, client_id=10 + at, mode="paper", accounts=[f"DU{at}"])
        WorkerHeartbeat.objects.create(
            name=worker_name(name), connected=bool(at % 2), details={"accounts": [f"DU{at}"]}, updated_at=timezone.now()
        )
    WorkerHeartbeat.objects.create(name="someone-else", last_event_at=timezone.now(), updated_at=timezone.now())

    routing = Routing()

    assert [fields(row) for row in routing.connections.values()] == [fields(row) for row in IBConnection.objects.order_by("name")]
    names = {worker_name(name) for name in (*routing.connections, "default")}
    assert {name: fields(row) for name, row in routing.heartbeats.items()} == {
        row.name: fields(row) for row in WorkerHeartbeat.objects.filter(name__in=names)
    }
    assert "someone-else" not in routing.heartbeats


def test_the_settings_rows_of_an_account_are_the_orms():
    from django.db.models import Q

    from trading.config import _ROWS_OF_ACCOUNT
    from trading.models import IBConnection

    IBConnection.objects.create(name="desk", host="127.0.0.1", port=4002, client_id=9, mode="paper", accounts=["DU1", "DU2"])
    config_update(scope=ConfigScope.ACCOUNT, account="DU1", changes={"max_order_quantity": 5})
    config_update(scope=ConfigScope.ACCOUNT, account="DU2", changes={"max_order_quantity": 7})

    read = sorted(_ROWS_OF_ACCOUNT([ConfigScope.ACCOUNT, "DU1"]), key=lambda row: row.pk)

    orm = TradingConfig.objects.filter(~Q(scope=ConfigScope.ACCOUNT) | Q(account="DU1")).order_by("pk")
    assert [fields(row) for row in read] == [fields(row) for row in orm]
    assert {row.account for row in read if row.scope == ConfigScope.ACCOUNT} == {"DU1"}
