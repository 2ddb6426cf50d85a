"""Two factor for staff (django-otp TOTP): a user with a device gives its code at sign-in; with
REQUIRE_2FA a staff session reaches the admin, the dashboard and its socket only once verified, and a
staff user without a device is sent to set one up."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.dashboard.conftest import signed_in_session
from trading.auth.two_factor import TOKEN_INVALID, TOKEN_REQUIRED
from trading.dashboard.consumers import CLOSE_NOT_AUTHENTICATED, LiveConsumer

pytestmark = pytest.mark.django_db


def code(device: TOTPDevice) -> str:
    """What the authenticator app shows right now."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


@pytest.fixture
def alice_device(alice) -> TOTPDevice:
    return TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)


@pytest.fixture
def require_2fa(settings):
    settings.REQUIRE_2FA = True


def login(client: Client, path: str, username: str, password: str, otp_token: str = ""):
    return client.post(path, {"username": username, "password": password, "otp_token": otp_token})


@pytest.mark.parametrize("path", ["/admin/login/", "/dashboard/login/"])
def test_a_user_with_a_device_must_give_its_code_at_sign_in(client, alice_device, path):
    assert TOKEN_REQUIRED in login(client, path, "alice", "alice-password-1").content.decode()
    assert "_auth_user_id" not in client.session
    assert login(client, path, "alice", "alice-password-1", code(alice_device)).status_code == 302
    assert client.session["otp_device_id"] == alice_device.persistent_id


def test_a_wrong_code_is_refused_and_even_the_right_one_waits_a_moment_after_it(client, alice_device):
    assert TOKEN_INVALID in login(client, "/dashboard/login/", "alice", "alice-password-1", "000000").content.decode()
    refused = login(client, "/dashboard/login/", "alice", "alice-password-1", code(alice_device)).content.decode()
    assert "too many wrong authenticator codes: wait" in refused
    assert "_auth_user_id" not in client.session


def test_without_require_2fa_staff_without_a_device_sign_in_with_a_password(client, alice):
    assert login(client, "/admin/login/", "alice", "alice-password-1").status_code == 302
    assert client.get("/admin/").status_code == 200


def test_with_require_2fa_a_verified_staff_session_reaches_the_admin(client, alice_device, require_2fa):
    login(client, "/admin/login/", "alice", "alice-password-1", code(alice_device))
    assert client.get("/admin/").status_code == 200


def test_with_require_2fa_staff_without_a_device_are_sent_to_set_one_up(client, alice, require_2fa):
    assert login(client, "/admin/login/", "alice", "alice-password-1").status_code == 302
    admin = client.get("/admin/", follow=True)
    assert admin.redirect_chain[-1][0].startswith("/dashboard/two-factor/?next=")
    assert client.get("/dashboard/").url.startswith("/dashboard/two-factor/")
    page = client.get("/dashboard/two-factor/").content.decode()
    assert "<svg" in page and 'id="totp-secret"' in page
    pending = TOTPDevice.objects.get(user=alice, confirmed=False)

    right = client.post("/dashboard/two-factor/", {"otp_token": code(pending), "next": "/admin/"})
    assert right.status_code == 302 and right.url == "/admin/"
    pending.refresh_from_db()
    assert pending.confirmed
    assert client.get("/admin/").status_code == 200 and client.get("/dashboard/").status_code == 200


def test_a_wrong_first_code_does_not_confirm_a_new_device(client, alice, require_2fa):
    client.force_login(alice)
    client.get("/dashboard/two-factor/")
    wrong = client.post("/dashboard/two-factor/", {"otp_token": "123"})
    assert wrong.status_code == 400 and TOKEN_INVALID in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=alice, confirmed=True).exists()
    assert client.get("/dashboard/").status_code == 302


def test_with_require_2fa_a_staff_session_with_a_device_but_no_code_is_asked_for_one(client, alice, alice_device, require_2fa):
    client.force_login(alice)  # e.g. signed in before REQUIRE_2FA was turned on
    assert client.get("/admin/", follow=True).redirect_chain[-1][0].startswith("/dashboard/two-factor/")
    page = client.get("/dashboard/two-factor/").content.decode()
    assert "<svg" not in page  # no new device offered: the existing one verifies
    assert client.post("/dashboard/two-factor/", {"otp_token": code(alice_device)}).url == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


def test_the_two_factor_page_sends_nobody_to_another_site(client, alice, alice_device, require_2fa):
    client.force_login(alice)
    answer = client.post("/dashboard/two-factor/", {"otp_token": code(alice_device), "next": "https://evil.example/"})
    assert answer.url == "/dashboard/"


def test_with_require_2fa_plain_traders_are_not_asked(client, bob, require_2fa):
    assert login(client, "/dashboard/login/", "bob", "bob-password-1").status_code == 302
    assert client.get("/dashboard/").status_code == 200


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_require_2fa_the_socket_refuses_an_unverified_staff_session(alice, require_2fa):
    session = signed_in_session(alice)

    async def connect():
        communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
        communicator.scope.update(user=alice, session=session)
        await communicator.connect()
        output = await communicator.receive_output(timeout=5)
        await communicator.disconnect()
        return output

    assert async_to_sync(connect)() == {"type": "websocket.close", "code": CLOSE_NOT_AUTHENTICATED}


def test_with_require_2fa_an_unverified_staff_session_cannot_use_the_api(client, alice, require_2fa):
    client.force_login(alice)
    switch = client.post("/api/config/kill-switch", {"trading_enabled": True, "scope": "live"}, content_type="application/json")
    assert switch.status_code == 403 and switch.json()["error"] == "two_factor_required"
    assert client.get("/api/runs").status_code == 403


def test_with_require_2fa_an_api_token_is_not_asked_for_a_code(alice, require_2fa):
    from tests.api.conftest import BearerClient
    from trading.tokens import token_create

    assert BearerClient(token_create(user=alice, name="cron")[1]).get("/api/runs").status_code == 200
