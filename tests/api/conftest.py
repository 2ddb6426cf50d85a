"""API fixtures: named users with tokens, a live-looking worker heartbeat, bearer-header clients.

alice is staff (superuser), bob a plain user, charlie has a read-only token and a revoked one.
"""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from trading.models import IntentRun, RunStatus, WorkerHeartbeat
from trading.tokens import token_create, token_revoke


@pytest.fixture
def charlie(django_user_model):
    return django_user_model.objects.create_user("charlie", "charlie@example.com", "charlie-password-1")


@pytest.fixture
def alice_token(alice) -> str:
    return token_create(user=alice, name="alice-cron")[1]


@pytest.fixture
def bob_token(bob) -> str:
    return token_create(user=bob, name="bob-script")[1]


@pytest.fixture
def charlie_read_token(charlie) -> str:
    return token_create(user=charlie, name="charlie-monitor", read_only=True)[1]


@pytest.fixture
def charlie_revoked_token(charlie) -> str:
    token, plaintext = token_create(user=charlie, name="charlie-old")
    token_revoke(token=token)
    return plaintext


class BearerClient(Client):
    """A test client that sends `Authorization: Bearer <token>` on every request."""

    def __init__(self, token: str, **kwargs):
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs)

    def post_json(self, path, data=None, **kwargs):
        return self.post(path, data if data is not None else {}, content_type="application/json", **kwargs)


@pytest.fixture
def alice_api(alice_token) -> BearerClient:
    return BearerClient(alice_token)


@pytest.fixture
def bob_api(bob_token) -> BearerClient:
    return BearerClient(bob_token)


@pytest.fixture
def charlie_read_api(charlie_read_token) -> BearerClient:
    return BearerClient(charlie_read_token)


@pytest.fixture
def live_worker(db) -> WorkerHeartbeat:
    """A fresh, connected heartbeat: the submission path sees a live worker (none actually runs)."""
    return WorkerHeartbeat.objects.create(name="ibworker", connected=True, updated_at=timezone.now(), mode="paper")


def run_finish_now(run_id: int, *, result: dict | None = None, status: str = RunStatus.SUCCEEDED) -> IntentRun:
    """What the worker would do: mark the run final with its result."""
    now = timezone.now()
    IntentRun.objects.filter(pk=run_id).update(status=status, started_at=now, finished_at=now, result=result)
    return IntentRun.objects.get(pk=run_id)


def d(value) -> Decimal:
    return Decimal(str(value))
