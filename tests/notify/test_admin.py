"""The admin's notification pages: URLs masked and kept when left empty, a test message end to end,
the sends listed read-only."""

import pytest
from django.urls import reverse

from trading.models import ActivityEntry, ActivityKind, NotifyKind, NotifySend, NotifyTarget
from trading.notify.sender import UNKNOWN_URL
from trading.notify.tasks import notify_step

pytestmark = pytest.mark.django_db
SECRET_URL = "tgram://123456789:AAEsecretToken/987654321"


@pytest.fixture
def telegram():
    return NotifyTarget.objects.create(name="phone", url=SECRET_URL)


def test_the_list_and_the_form_show_the_url_masked(alice_client, telegram):
    listing = alice_client.get(reverse("admin:trading_notifytarget_changelist")).content.decode()
    form = alice_client.get(reverse("admin:trading_notifytarget_change", args=[telegram.pk])).content.decode()
    for page in (listing, form):
        assert "tgram://12…/…" in page
        assert "AAEsecretToken" not in page and "987654321" not in page and "123456789" not in page


def _post(client, target=None, **fields):
    data = {"name": "phone", "url": "", "enabled": "on", "kinds": [NotifyKind.FILL, NotifyKind.KILL_SWITCH], **fields}
    url = reverse("admin:trading_notifytarget_change", args=[target.pk]) if target else reverse("admin:trading_notifytarget_add")
    return client.post(url, data)


def test_an_empty_url_keeps_the_stored_secret(alice_client, telegram):
    response = _post(alice_client, telegram, name="my phone")
    assert response.status_code == 302
    telegram.refresh_from_db()
    assert (telegram.name, telegram.url, telegram.kinds) == ("my phone", SECRET_URL, ["fill", "kill_switch"])
    entry = ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE).latest("id")
    assert entry.message == "alice changed notification target my phone (tgram://12…/…): name, kinds"


def test_a_new_url_replaces_it(alice_client, telegram):
    assert _post(alice_client, telegram, url="ntfy://ntfy.example.com/alerts").status_code == 302
    telegram.refresh_from_db()
    assert telegram.url == "ntfy://ntfy.example.com/alerts"


def test_a_url_apprise_does_not_know_is_refused_and_nothing_saved(alice_client):
    response = _post(alice_client, url="nosuchservice://token/abc")
    assert response.status_code == 200
    assert UNKNOWN_URL in response.content.decode()
    assert "token/abc" not in response.content.decode()
    assert not NotifyTarget.objects.exists()


def test_a_new_target_needs_a_url(alice_client):
    response = _post(alice_client)
    assert "an apprise URL is required" in response.content.decode()
    assert not NotifyTarget.objects.exists()


def test_send_test_message_reaches_the_receiver(alice_client, receiver, settings):
    settings.NOTIFY_URLS = []
    settings.NOTIFY_DAILY_SUMMARY_AT = ""
    target = NotifyTarget.objects.create(name="hook", url=receiver.url("admin-test"), kinds=[])
    response = alice_client.post(
        reverse("admin:trading_notifytarget_changelist"),
        {"action": "send_test", "_selected_action": [target.pk]},
        follow=True,
    )
    assert "Test message queued for 1 target(s)" in response.content.decode()

    notify_step()  # the cluster's next tick, at the real time: the test message is due at once

    [payload] = receiver.received
    assert payload["title"] == "Test message from the IB trading console"
    assert payload["message"] == "Sent on request of alice."
    send = NotifySend.objects.get()
    assert (send.kind, send.status, send.target_id) == (NotifyKind.TEST, "sent", target.pk)
    listing = alice_client.get(reverse("admin:trading_notifysend_changelist")).content.decode()
    assert "Test message from the IB trading console" in listing
    assert "admin-test" not in listing  # the URL path is masked in the label too


def test_a_target_receives_only_its_kinds(settings, receiver, clock):
    from tests.notify.factories import fill, refused

    settings.NOTIFY_URLS = []
    settings.NOTIFY_DAILY_SUMMARY_AT = ""
    NotifyTarget.objects.create(name="fills only", url=receiver.url("fills"), kinds=[NotifyKind.FILL])
    NotifyTarget.objects.create(name="off", url=receiver.url("off"), enabled=False)
    fill()
    refused()
    notify_step(now=clock.now)
    assert [p["title"] for p in receiver.received] == ["Fill [paper]: BUY 10 SPY @ 400.25"]


def test_sends_are_read_only(alice_client):
    assert alice_client.get(reverse("admin:trading_notifysend_add")).status_code == 403
