"""Two factor for staff: TOTP devices (django-otp), required on the admin and the dashboard when
`REQUIRE_2FA` is on.

A user with a confirmed device is asked for a code at every sign-in, whatever `REQUIRE_2FA` says (they
opted in). With `REQUIRE_2FA`, a staff session is let into the admin, the dashboard and its socket
only once a device has verified it; a staff user without a device is sent to the dashboard's
two-factor page to set one up (a QR code for an authenticator app, confirmed by its first code).
Devices are listed, added and removed in the admin (*OTP_TOTP › TOTP devices*).
"""

from __future__ import annotations

import io

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY, devices_for_user, match_token, user_has_device
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

TOKEN_REQUIRED = "enter the 6-digit code from your authenticator app"
TOKEN_INVALID = "that authenticator code is not right (or was already used): try the next one"
TOKEN_THROTTLED = "too many wrong authenticator codes: wait {seconds} seconds, then try the next code"
SETUP_REQUIRED = "two-factor authentication is required for staff: set up an authenticator app to continue"
PENDING_DEVICE_NAME = "authenticator app"


def two_factor_required(user) -> bool:
    return bool(settings.REQUIRE_2FA and getattr(user, "is_staff", False))


def session_verified(user, session) -> bool:
    """True when the session (a request's, or a stored one's data) was verified by one of the user's
    confirmed devices."""
    device_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    device = Device.from_persistent_id(device_id) if device_id else None
    return device is not None and device.user_id == user.pk and device.confirmed


def two_factor_missing(user, session) -> bool:
    return two_factor_required(user) and not session_verified(user, session)


def token_device(user, token: str) -> Device | None:
    """The user's confirmed device that accepts this token now (each code is accepted once)."""
    return match_token(user, token.strip()) if token and token.strip() else None


def token_refusal(user, *, confirmed: bool = True) -> str:
    """Why no code is accepted now (django-otp's back-off after wrong codes), or "" when one may be tried."""
    for device in devices_for_user(user, confirmed=confirmed):
        allowed, extra = device.verify_is_allowed()
        if not allowed:
            locked_until = (extra or {}).get("locked_until")
            seconds = max(1, int((locked_until - timezone.now()).total_seconds()) + 1) if locked_until else 1
            return TOKEN_THROTTLED.format(seconds=seconds)
    return ""


def user_has_two_factor(user) -> bool:
    return user_has_device(user, confirmed=True)


def totp_pending_device(user) -> TOTPDevice:
    """The unconfirmed device being set up (one per user; created on first visit)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=PENDING_DEVICE_NAME, confirmed=False)


def totp_confirm(user, token: str) -> TOTPDevice | None:
    """Confirm the pending device with its first code; None when the code is wrong."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
        if device is None or not token or not device.verify_token(token.strip()):
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return device


def totp_qr_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an inline SVG QR code for the setup page."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()
