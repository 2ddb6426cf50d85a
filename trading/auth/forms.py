"""The login forms of the admin and the dashboard: a password, and a TOTP code for users who have a
device. Authentication goes through `authenticate(request, …)`, so django-axes counts every failure."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from trading.auth.two_factor import TOKEN_INVALID, TOKEN_REQUIRED, token_device, token_refusal, user_has_two_factor

USERNAME_TOO_LONG = "A username has at most {limit} characters."


class ConsoleLoginForm(AuthenticationForm):
    otp_token = forms.CharField(
        label="Authenticator code",
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_username(self):
        """AuthenticationForm sets the field's max_length after the validators are built, so an over-long
        name would reach authenticate() — and django-axes' record of the failure, a 255-character
        column that PostgreSQL refuses with a 500. No such user can exist: refuse it here."""
        username = self.cleaned_data.get("username") or ""
        limit = self.fields["username"].max_length or 150
        if len(username) > limit:
            raise forms.ValidationError(USERNAME_TOO_LONG.format(limit=limit), code="max_length")
        return username

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if user is not None and user_has_two_factor(user):
            token = cleaned.get("otp_token") or ""
            if not token.strip():
                raise forms.ValidationError(TOKEN_REQUIRED, code="token_required")
            throttled = token_refusal(user)
            if throttled:
                raise forms.ValidationError(throttled, code="token_throttled")
            device = token_device(user, token)
            if device is None:
                raise forms.ValidationError(TOKEN_INVALID, code="invalid_token")
            user.otp_device = device  # django-otp's user_logged_in receiver marks the session verified
        return cleaned


class ConsoleAdminLoginForm(AdminAuthenticationForm, ConsoleLoginForm):
    """The admin's form (staff only) with the code field."""
