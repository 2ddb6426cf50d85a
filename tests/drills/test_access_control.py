"""Drill: nobody gets in without logging in, and nobody does more than their role allows.

The URL conf is walked (recursively), so an endpoint added later is covered without editing this file.
Only the health check, the login/logout pages and static files are open to anonymous callers.
Every other path, with every method, must answer anonymous callers with 401/403 or a redirect to a
login page (404/405 only where even a superuser gets them; 400/422 only for a rejected body), never 2xx
or 5xx; admin pages refuse a non-staff user; a staff user without permissions walks every admin page
and action and changes nothing; API operations refuse the wrong role (a read-only token writes
nothing, a non-staff user flips no switch, a revoked token gets 401 everywhere); the live socket
closes on an anonymous browser, answers every message type it knows (`LiveConsumer.commands`, walked)
with junk fields without a traceback or a change, and closes (4401) on every message type once its
session has logged out.
"""

import logging
import re

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from trading.api.auth import BearerToken, Need
from trading.dashboard.consumers import CLOSE_NOT_AUTHENTICATED, LiveConsumer
from trading.models import ActivityEntry, ApiToken, IntentRun, Order, TradingConfig
from trading.tokens import token_create

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

OPEN_TO_ANONYMOUS = {"api:health", "dashboard:login", "dashboard:logout", "admin:login", "admin:logout"}
OPEN_PATHS = {"/favicon.ico"}  # a redirect to the static icon browsers ask every site for
ANONYMOUS_ADDRESS = "203.0.113.9"  # the anonymous caller is remote (TEST-NET-3)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SAMPLES = {"int": "1", "path": "1", "slug": "summary", "str": "summary", "uuid": "00000000-0000-0000-0000-000000000001"}
ROUTE_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
REGEX_GROUP = re.compile(r"\(\?P<\w+>([^()]*)\)")


def concrete(route: str) -> str:
    """A path that matches a route or regex pattern, with sample values for its parameters."""
    route = ROUTE_PARAM.sub(lambda m: SAMPLES.get(m["converter"] or "str", "1"), route)
    route = REGEX_GROUP.sub(lambda m: m[1].split("|")[0] if re.fullmatch(r"[\w|]+", m[1]) else "x", route)
    return "/" + route.replace("^", "").replace("$", "").replace("\\", "")


def walk(patterns, prefix: str = "", namespace: str | None = None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else (pattern.name or "")
            yield concrete(prefix + str(pattern.pattern)), name


def endpoints() -> list[tuple[str, str]]:
    seen, found = set(), []
    for path, name in walk(get_resolver().url_patterns):
        if name in OPEN_TO_ANONYMOUS or path.startswith("/static/") or path in OPEN_PATHS or path in seen:
            continue
        seen.add(path)
        found.append((path, name))
    return found


def login_paths() -> set[str]:
    return {reverse("admin:login"), reverse("dashboard:login")}


def send(client: Client, method: str, path: str, **extra):
    return client.generic(method, path, data=b"{}" if method in UNSAFE else b"", content_type="application/json", **extra)


def redirects_to_login(client: Client, method: str, path: str, response) -> bool:
    if response.status_code not in (301, 302, 303, 307, 308):
        return False
    followed = client.get(path, follow=True) if method == "GET" else client.get(response["Location"], follow=True)
    return followed.request["PATH_INFO"] in login_paths()


@pytest.fixture
def ledger():
    """What an accepted request could have changed: checked unchanged after the walk."""

    def snapshot():
        return (
            IntentRun.objects.count(), Order.objects.count(), ApiToken.objects.count(),
            list(TradingConfig.objects.order_by("pk").values()),
            ActivityEntry.objects.exclude(kind="config_change").count(),
        )  # fmt: skip

    return snapshot


def test_every_endpoint_refuses_anonymous_callers_with_every_method(alice, ledger):
    superuser = Client()
    superuser.force_login(alice)
    before = ledger()
    problems = []
    for path, name in endpoints():
        for method in METHODS:
            # From another host: /metrics is open to localhost by design (docs/DEPLOY.md), nothing else is.
            anonymous = Client(REMOTE_ADDR=ANONYMOUS_ADDRESS)
            response = send(anonymous, method, path)
            status = response.status_code
            if status in (401, 403) or redirects_to_login(anonymous, method, path, response):
                continue
            if status in (404, 405) and send(superuser, method, path).status_code == status:
                continue  # nothing there for anyone
            if status in (400, 422) and method in UNSAFE:
                continue  # the body was rejected before anything happened (checked below)
            problems.append(f"{method} {path} ({name or 'unnamed'}) answered an anonymous caller {status}")
    assert not problems, "\n".join(problems)
    assert ledger() == before, "an anonymous request changed something"


def test_admin_pages_and_actions_refuse_a_logged_in_user_without_staff_rights(bob, ledger):
    non_staff = Client()
    non_staff.force_login(bob)
    before = ledger()
    problems = []
    admin_paths = [path for path, name in endpoints() if name.startswith("admin:") or path.startswith("/admin/")]
    assert admin_paths
    for path in admin_paths:
        for method in ("GET", "POST"):
            response = send(non_staff, method, path)
            if not redirects_to_login(non_staff, method, path, response) and response.status_code not in (403, 404, 405):
                problems.append(f"{method} {path} answered a non-staff user {response.status_code}")
    for model, model_admin in admin.site._registry.items():
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for action in _action_names(model_admin):
            response = non_staff.post(changelist, {"action": action, "_selected_action": ["1"], "index": "0"})
            if not redirects_to_login(non_staff, "POST", changelist, response):
                problems.append(f"admin action {action} on {changelist} answered a non-staff user {response.status_code}")
    assert not problems, "\n".join(problems)
    assert ledger() == before


def _action_names(model_admin) -> list[str]:
    names = [action if isinstance(action, str) else action.__name__ for action in (model_admin.actions or [])]
    return [*names, "delete_selected"]


def api_operations():
    """(path, method, needs) of every ninja operation, as declared by its auth."""
    from trading.api.api import api, seed_api

    for ninja_api, mount in ((api, "/api"), (seed_api, "")):
        for prefix, router in ninja_api._routers:
            for route, view in router.path_operations.items():
                for operation in view.operations:
                    needs = {auth.need for auth in operation.auth_callbacks or [] if isinstance(auth, BearerToken)}
                    for method in operation.methods:
                        route_pattern = f"{mount}/{prefix}/{route}".replace("{", "<").replace("}", ">")
                        yield concrete(re.sub("/+", "/", route_pattern).lstrip("/")), method, needs


def test_api_operations_refuse_the_wrong_role(alice, bob, django_user_model, ledger):
    charlie = django_user_model.objects.create_user("charlie", "charlie@example.com", "charlie-password-1")
    read_only = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=charlie, name='monitor', read_only=True)[1]}")
    non_staff = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=bob, name='script')[1]}")
    bob_session = Client()
    bob_session.force_login(bob)
    before = ledger()
    problems, checked = [], 0
    for path, method, needs in api_operations():
        if Need.STAFF in needs:
            for who, client in (("a non-staff token", non_staff), ("a non-staff session", bob_session)):
                checked += 1
                if (status := send(client, method, path).status_code) != 403:
                    problems.append(f"{method} {path} (staff only) answered {who} {status}")
        if method in UNSAFE and needs and needs <= {Need.WRITE, Need.STAFF}:
            checked += 1
            if (status := send(read_only, method, path).status_code) != 403:
                problems.append(f"{method} {path} answered a read-only token {status}")
    assert checked >= 3, "the API declares no write or staff operations any more?"
    assert not problems, "\n".join(problems)
    assert ledger() == before


def test_the_live_socket_refuses_an_anonymous_browser_and_a_non_staff_switch(bob):
    from tests.dashboard.conftest import live_socket

    async def anonymous():
        communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
        communicator.scope["user"] = AnonymousUser()
        connected, _ = await communicator.connect()
        output = await communicator.receive_output(timeout=5) if connected else None
        await communicator.disconnect()
        return connected, output

    async def non_staff_switch():
        async with live_socket(bob) as (communicator, _snapshot):
            await communicator.send_json_to({"type": "switch.set", "switch": "kill_switch", "on": False, "request_id": "r1"})
            while True:
                event = await communicator.receive_json_from(timeout=5)
                if event["type"] == "action.result":
                    return event["payload"]

    connected, output = async_to_sync(anonymous)()
    assert not connected or output == {"type": "websocket.close", "code": CLOSE_NOT_AUTHENTICATED}
    before = list(TradingConfig.objects.values())
    result = async_to_sync(non_staff_switch)()
    assert result["ok"] is False and list(TradingConfig.objects.values()) == before


@pytest.fixture
def dave(django_user_model):
    """Staff (may open the admin) with no permissions at all."""
    return django_user_model.objects.create_user("dave", "dave@example.com", "dave-password-1", is_staff=True)


def test_a_staff_user_without_permissions_walks_the_admin_and_changes_nothing(dave, ledger):
    staff = Client()
    staff.force_login(dave)
    problems = []
    admin_paths = [path for path, name in endpoints() if name.startswith("admin:") or path.startswith("/admin/")]
    for path in admin_paths:
        for method in ("GET", "POST"):
            if path == reverse("admin:logout"):
                continue
            before = ledger()
            status = send(staff, method, path).status_code
            if status >= 500 or ledger() != before:
                problems.append(
                    f"{method} {path} answered a staff user without permissions {status} (changed: {ledger() != before})"
                )
    for model, model_admin in admin.site._registry.items():
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for action in _action_names(model_admin):
            before = ledger()
            status = staff.post(changelist, {"action": action, "_selected_action": ["1"], "index": "0"}).status_code
            if status not in (302, 403) or ledger() != before:
                problems.append(f"admin action {action} on {changelist} answered a staff user without permissions {status}")
    assert not problems, "\n".join(problems)


def test_a_staff_user_without_permissions_cannot_reload_the_workers_handlers(dave):
    staff = Client()
    staff.force_login(dave)
    staff.post("/admin/trading/handlerstat/reload/")
    assert not ActivityEntry.objects.filter(message__contains="reload its handlers").exists()


def test_a_revoked_token_gets_401_on_every_api_operation(bob, ledger):
    from trading.tokens import token_revoke

    token, plaintext = token_create(user=bob, name="old-script")
    token_revoke(token=token)
    revoked = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    before = ledger()
    problems = []
    for path, method, needs in api_operations():
        if needs and (status := send(revoked, method, path).status_code) != 401:
            problems.append(f"{method} {path} answered a revoked token {status}")
    assert not problems, "\n".join(problems)
    assert ledger() == before


JUNK_FIELDS = {
    "intent": ["close_all"], "params": "not an object", "dry_run": "no", "confirmed": "yes", "order": {"id": 1},
    "switch": 7, "on": "off", "activity_after": "latest", "request_id": {"nested": True},
}  # fmt: skip


async def _replies_to_every_message_type(user, caplog) -> list[str]:
    from tests.dashboard.conftest import live_socket

    problems = []
    async with live_socket(user) as (communicator, _):
        for kind in LiveConsumer.commands:
            for message in ({"type": kind}, {"type": kind, **JUNK_FIELDS}):
                await communicator.send_json_to(message)
                reply = await communicator.receive_output(timeout=10)
                if reply["type"] != "websocket.send":
                    problems.append(f"{kind} {sorted(message)} as {user.username}: {reply}")
                    return problems
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    problems += [f"as {user.username}: logged at ERROR: {e}" for e in errors]
    return problems


def test_every_socket_message_type_with_junk_fields_is_answered_without_a_traceback_or_a_change(bob, dave, ledger, caplog):
    before = ledger()
    problems = async_to_sync(_replies_to_every_message_type)(bob, caplog)
    problems += async_to_sync(_replies_to_every_message_type)(dave, caplog)
    assert not problems, "\n".join(problems)
    assert ledger() == before


def test_every_socket_message_type_closes_the_socket_once_its_session_has_logged_out(alice, ledger):
    from tests.dashboard.conftest import live_socket

    async def after_logout(kind):
        async with live_socket(alice) as (communicator, _):
            await database_sync_to_async(communicator.scope["session"].delete)()
            await communicator.send_json_to({"type": kind, "switch": "soft_stop", "on": True})
            return await communicator.receive_output(timeout=10)

    before = ledger()
    closed = {kind: async_to_sync(after_logout)(kind) for kind in LiveConsumer.commands}
    assert closed == {kind: {"type": "websocket.close", "code": CLOSE_NOT_AUTHENTICATED} for kind in LiveConsumer.commands}
    assert ledger() == before


def test_a_staff_user_without_permissions_flips_no_switch_on_the_api_or_the_socket(dave, ledger):
    from tests.dashboard.conftest import ask, live_socket

    async def socket_switch():
        async with live_socket(dave) as (communicator, _):
            return await ask(communicator, {"type": "switch.set", "switch": "soft_stop", "on": True})

    token = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=dave, name='ops')[1]}")
    before = ledger()
    response = token.post("/api/config/kill-switch", {"trading_enabled": True, "scope": "live"}, content_type="application/json")
    result = async_to_sync(socket_switch)()
    assert response.status_code == 403 and result["ok"] is False
    assert ledger() == before
