import pytest

from trading.models import ApiToken
from trading.tokens import token_authenticate, token_create, token_hash, token_revoke

pytestmark = pytest.mark.django_db


def test_it_stores_only_a_hash_and_authenticates_the_plaintext(alice):
    token, plaintext = token_create(user=alice, name="cron")
    stored = ApiToken.objects.get(pk=token.pk)
    assert plaintext not in (stored.token_hash, stored.prefix, stored.name)
    assert stored.token_hash == token_hash(plaintext) and len(stored.token_hash) == 64
    found = token_authenticate(plaintext)
    assert found.pk == token.pk and found.user == alice
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_it_refuses_wrong_revoked_and_inactive_users_tokens(alice, bob):
    token, plaintext = token_create(user=alice, name="cron")
    assert token_authenticate(plaintext + "x") is None
    assert token_authenticate("") is None
    token_revoke(token=token)
    assert token_authenticate(plaintext) is None
    _, bobs = token_create(user=bob, name="script", read_only=True)
    bob.is_active = False
    bob.save()
    assert token_authenticate(bobs) is None


def test_two_tokens_never_share_a_plaintext(alice):
    _, first = token_create(user=alice, name="a")
    _, second = token_create(user=alice, name="b")
    assert first != second
