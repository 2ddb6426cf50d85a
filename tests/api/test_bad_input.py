"""Bad input to the API and the webhook is answered 4xx in the error shape, never 500: bodies over
Django's DATA_UPLOAD_MAX_MEMORY_SIZE (413, naming the limit), too many parameters, bodies that are not
JSON or not UTF-8, other content types, oversized headers."""

import json

import pytest
from django.conf import settings

from tests.api.conftest import BearerClient
from trading.api import errors
from trading.models import IntentRun

pytestmark = pytest.mark.django_db

THREE_MB = json.dumps({"dryRun": True, "padding": "x" * 3_000_000})


def assert_error_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["error"] == code and body["detail"]
    return body


def test_a_3_mb_body_to_an_intent_is_a_413_naming_the_limit(alice_api, live_worker):
    response = alice_api.post("/api/intents/close_all", THREE_MB, content_type="application/json")
    body = assert_error_shape(response, 413, errors.PAYLOAD_TOO_LARGE)
    assert body["detail"] == errors.MSG_TOO_LARGE.format(limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in body["detail"] and not IntentRun.objects.exists()


def test_a_3_mb_body_to_the_webhook_is_a_413_without_a_token(client, live_worker):
    response = client.post("/api/webhook", THREE_MB, content_type="application/json")
    assert_error_shape(response, 413, errors.PAYLOAD_TOO_LARGE)
    assert not IntentRun.objects.exists()


def test_a_3_mb_body_to_a_seed_path_is_a_413(alice_api, live_worker):
    assert_error_shape(alice_api.post("/close-all", THREE_MB, content_type="application/json"), 413, errors.PAYLOAD_TOO_LARGE)


def test_a_query_with_too_many_parameters_is_a_400(alice_api):
    query = "&".join(f"p{n}=1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    body = assert_error_shape(alice_api.get(f"/api/runs?{query}"), 400, errors.TOO_MANY_FIELDS)
    assert str(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS) in body["detail"]


def test_a_form_with_too_many_fields_is_a_400(client):
    fields = {f"p{n}": "1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = client.post("/api/webhook", fields)
    assert response.status_code == 400 or response.status_code == 422


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe{not utf-8", "application/json"),
        (b'{"dryRun": tru', "application/json"),
        (b"dryRun=true", "application/x-www-form-urlencoded"),
        (b"<dryRun>true</dryRun>", "application/xml"),
        (b'{"dryRun": true}', "text/plain; charset=utf-8"),
        (b"[" * 5000 + b"]" * 5000, "application/json"),
        (b'{"dryRun": true}', "application/json; charset=klingon"),
    ],
    ids=["invalid-utf8", "truncated-json", "form", "xml", "text-plain", "nested-5000", "unknown-charset"],
)
@pytest.mark.parametrize("path", ["/api/intents/close_all?wait=0", "/api/webhook", "/close-all?wait=0"])
def test_a_body_that_is_not_usable_json_is_a_4xx_in_the_error_shape(alice_api, live_worker, path, body, content_type):
    response = alice_api.generic("POST", path, body, content_type=content_type)
    assert response.status_code < 500, response.content[:300]  # a seed path may read text/plain as JSON
    assert set(response.json()) >= ({"error", "detail"} if response.status_code >= 400 else {"id"})


def test_a_huge_authorization_header_is_a_401(client):
    response = client.post(
        "/api/intents/summary", {}, content_type="application/json", headers={"Authorization": "Bearer " + "x" * 200_000}
    )
    assert_error_shape(response, 401, errors.UNAUTHORIZED)


def test_a_huge_idempotency_key_is_a_422(alice_api, live_worker):
    response = alice_api.post_json("/api/intents/summary", {}, headers={"Idempotency-Key": "k" * 100_000})
    assert_error_shape(response, 422, errors.VALIDATION_ERROR)


def test_a_nul_in_a_path_or_query_is_a_4xx(alice_api):
    for url in ("/api/runs?status=%00", "/api/intents/clo%00se_all", "/api/runs/1%00"):
        response = alice_api.get(url) if "runs" in url else alice_api.post_json(url, {})
        assert 400 <= response.status_code < 500, (url, response.status_code)


def test_a_huge_number_in_a_path_or_query_is_not_a_500(alice_api):
    for url in ("/api/runs/" + "9" * 40, "/api/runs?limit=" + "9" * 40, "/api/orders?after=" + "9" * 40):
        assert alice_api.get(url).status_code < 500, url


def test_a_bearer_token_with_unprintable_bytes_is_a_401(client):
    client_bad = BearerClient("ibc_\x00\x7f\u00e9")
    assert client_bad.get("/api/runs").status_code == 401
