"""The API end to end against the paper gateway: a token, POST close_all, positions flat at the gateway."""

import pytest
from django.test import Client

from tests.harness import wait_until
from tests.intents.conftest import console_worker, gateway_positions  # noqa: F401 - fixture
from trading.tokens import token_create

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_post_close_all_with_a_token_flattens_every_position(paper_gateway, console_worker, alice):  # noqa: F811
    paper_gateway.external_trade("SPY", 12)
    paper_gateway.external_trade("TLT", -5)
    wait_until(lambda: len(console_worker.worker.ib.positions()) == 2, what="positions at the worker")
    _, token = token_create(user=alice, name="e2e")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.post(
        "/api/intents/close_all?wait=60", {"dryRun": False}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="flat-1"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "succeeded" and body["intent"] == "close_all"
    assert gateway_positions(paper_gateway) == {}
    again = client.post("/api/intents/close_all", {"dryRun": False}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="flat-1")
    assert again.json()["id"] == body["id"]  # the same run, nothing sent twice
    assert len([o for o in paper_gateway.orders() if o["client_id"] == 1]) == 2  # the two external trades are client 0


def test_the_seed_path_close_all_works_with_the_seed_body(paper_gateway, console_worker, alice):  # noqa: F811
    paper_gateway.external_trade("GLD", 4)
    wait_until(lambda: len(console_worker.worker.ib.positions()) == 1, what="the position at the worker")
    _, token = token_create(user=alice, name="seed-caller")
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").post("/close-all", {"dryRun": False}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert gateway_positions(paper_gateway) == {}
