"""An apprise URL is a secret: masked wherever it is shown, scrubbed from errors, never logged."""

import logging

import pytest

from tests.notify.factories import refused
from trading.models import NotifySend
from trading.notify.targets import secret_scrub, url_mask
from trading.notify.tasks import notify_step

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("tgram://123456789:AAEsecret/987654", "tgram://12…/…"),
        ("slack://TA1234/BB5678/CCsecret", "slack://ta…/…"),
        ("mailto://user:pass@gmail.com", "mailto://gmail.com/…"),
        ("ntfy://alerts-topic", "ntfy://al…"),
        ("ntfys://ntfy.example.com/topic", "ntfys://ntfy.example.com/…"),
        ("json://127.0.0.1:8000/hook", "json://127.0.0.1:8000/…"),
        ("json://localhost", "json://localhost"),
    ],
)
def test_a_url_shows_its_scheme_and_host_only(url, masked):
    assert url_mask(url) == masked


def test_an_error_that_echoes_the_url_is_scrubbed():
    url = "discord://webhook_id_1234/webhook_token_abcd"
    error = "Failed to send to https://discord.com/api/webhooks/webhook_id_1234/webhook_token_abcd: 401"
    assert secret_scrub(error, url) == "Failed to send to https://discord.com/api/webhooks/***/***: 401"


def test_a_failed_send_records_and_logs_no_secret(settings, receiver, clock, caplog):
    secret = "s3cr3t-path-token"
    settings.NOTIFY_URLS = [f"json://127.0.0.1:{receiver.port}/{secret}"]
    settings.NOTIFY_DAILY_SUMMARY_AT = ""
    receiver.fail_next = 1
    refused()
    with caplog.at_level(logging.DEBUG):
        notify_step(now=clock.now)
    send = NotifySend.objects.get()
    assert send.error and send.attempts == 1
    assert secret not in send.error and secret not in send.target_label
    assert secret not in caplog.text
    assert "failed (attempt 1), retrying" in caplog.text
