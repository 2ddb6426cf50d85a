"""`manage.py apitoken create|list|revoke`."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.api.conftest import BearerClient
from trading.management.commands import apitoken
from trading.models import ApiToken
from trading.tokens import token_authenticate, token_create

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("apitoken", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_prints_the_token_once_and_it_works_on_the_api(alice):
    out, err = run("create", "--user", "alice", "--name", "cron")
    plaintext = out.strip()
    token = ApiToken.objects.get()
    assert token_authenticate(plaintext).pk == token.pk and not token.read_only
    assert "not shown again" in err and plaintext not in err
    assert BearerClient(plaintext).get("/api/me").json()["token_name"] == "cron"


def test_create_read_only(bob):
    out, _ = run("create", "--user", "bob", "--name", "monitor", "--read-only")
    assert token_authenticate(out.strip()).read_only is True


def test_create_for_an_unknown_user_fails():
    with pytest.raises(CommandError, match=apitoken.NO_USER.format(username="zed")):
        run("create", "--user", "zed", "--name", "x")


def test_list_shows_prefixes_never_plaintexts_and_hides_revoked_unless_asked(alice, bob):
    _, alices = token_create(user=alice, name="cron")
    old, _ = token_create(user=bob, name="old")
    run("revoke", str(old.pk))
    out, _ = run("list")
    assert alices[:10] in out and alices not in out and "cron" in out and "old" not in out
    assert "old" in run("list", "--all")[0]
    assert "cron" not in run("list", "--user", "bob", "--all")[0]


def test_revoke_by_prefix_or_id(alice):
    first, first_plain = token_create(user=alice, name="a")
    second, second_plain = token_create(user=alice, name="b")
    out, _ = run("revoke", first_plain[:10])
    assert out.strip() == apitoken.REVOKED.format(id=first.pk, name="a", prefix=first.prefix, username="alice")
    run("revoke", str(second.pk))
    assert token_authenticate(first_plain) is None and token_authenticate(second_plain) is None
    assert "already revoked" in run("revoke", str(second.pk))[0]


def test_revoke_refuses_what_names_no_single_token(alice):
    first, _ = token_create(user=alice, name="a")
    second, _ = token_create(user=alice, name="b")
    ApiToken.objects.filter(pk=first.pk).update(prefix="ibc_AAAAAA")
    ApiToken.objects.filter(pk=second.pk).update(prefix="ibc_AAAbbb")
    with pytest.raises(CommandError, match="no token matches"):
        run("revoke", "ibc_")
    with pytest.raises(CommandError, match="no token matches"):
        run("revoke", "424242")
    with pytest.raises(CommandError, match="matches 2 tokens"):
        run("revoke", "ibc_AAA")
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 2
