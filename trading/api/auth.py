"""Who is calling: a per-user API token (`Authorization: Bearer …`) or the dashboard's session.

Each operation declares what it needs — READ, WRITE (not a read-only token) or STAFF (a staff user,
not read-only) — plus, optionally, a Django permission the user must hold (the same one the admin
checks, so no surface is weaker than another; superusers hold every permission), and gets a
`Principal` as `request.auth`. A wrong or revoked token answers 401
at once (it never falls back to a session); a session's unsafe requests must pass Django's CSRF check.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf

from trading.api.errors import (
    CSRF_FAILED,
    MSG_CSRF,
    MSG_INVALID_TOKEN,
    MSG_NOT_AUTHENTICATED,
    MSG_READ_ONLY,
    MSG_STAFF_ONLY,
    UNAUTHORIZED,
    Forbidden,
    Unauthorized,
    error_json,
)
from trading.config import CHANGE_SETTINGS
from trading.models import ApiToken, RunSource
from trading.tokens import token_authenticate


class Need(IntEnum):
    READ = 1
    WRITE = 2
    STAFF = 3


@dataclass(frozen=True)
class Principal:
    user: object
    via: str  # "token" or "session"
    token: ApiToken | None = None

    @property
    def read_only(self) -> bool:
        return self.token is not None and self.token.read_only

    @property
    def source(self) -> str:
        """Where a run submitted by this caller comes from: scripts use tokens, the dashboard a session."""
        return RunSource.API if self.via == "token" else RunSource.DASHBOARD


MSG_NO_PERMISSION = "you need the {perm!r} permission for this (ask an administrator)"


def principal_allow(principal: Principal, need: Need, perm: str | None = None) -> Principal:
    if need >= Need.WRITE and principal.read_only:
        raise Forbidden(MSG_READ_ONLY)
    if need >= Need.STAFF and not getattr(principal.user, "is_staff", False):
        raise Forbidden(MSG_STAFF_ONLY)
    if perm is not None and not principal.user.has_perm(perm):
        raise Forbidden(MSG_NO_PERMISSION.format(perm=perm))
    return principal


def principal_from_token(plaintext: str) -> Principal:
    token = token_authenticate(plaintext)
    if token is None:
        raise Unauthorized(MSG_INVALID_TOKEN)
    return Principal(user=token.user, via="token", token=token)


class BearerToken(HttpBearer):
    def __init__(self, need: Need = Need.READ, perm: str | None = None):
        self.need = need
        self.perm = perm
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> Principal:
        return principal_allow(principal_from_token(token.strip()), self.need, self.perm)


class Session(SessionAuth):
    """The dashboard's own calls: the logged-in user, CSRF-checked on unsafe methods."""

    def __init__(self, need: Need = Need.READ, perm: str | None = None):
        self.need = need
        self.perm = perm
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None  # no session: 401, not a CSRF complaint
        if check_csrf(request) is not None:
            raise Forbidden(MSG_CSRF, code=CSRF_FAILED)
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Principal | None:
        if not request.user.is_authenticated:
            return None
        return principal_allow(Principal(user=request.user, via="session"), self.need, self.perm)


READ = [BearerToken(Need.READ), Session(Need.READ)]
WRITE = [BearerToken(Need.WRITE), Session(Need.WRITE)]
STAFF = [BearerToken(Need.STAFF), Session(Need.STAFF)]
SETTINGS_CHANGE = [BearerToken(Need.STAFF, CHANGE_SETTINGS), Session(Need.STAFF, CHANGE_SETTINGS)]


def docs_guard(view):
    """/api/docs and /api/openapi.json: a logged-in user or a valid token; browsers go to the login page."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs):
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            if token_authenticate(header[7:].strip()) is None:
                return error_json(401, UNAUTHORIZED, MSG_INVALID_TOKEN)
        elif not request.user.is_authenticated:
            if "text/html" in request.headers.get("Accept", ""):
                return redirect_to_login(request.get_full_path())
            return error_json(401, UNAUTHORIZED, MSG_NOT_AUTHENTICATED)
        return view(request, *args, **kwargs)

    return guarded
