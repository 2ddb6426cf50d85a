"""Login throttling (django-axes): five failures for one username from one address lock that pair out
of every login form for fifteen minutes, with a page that says so; the lockout is in the admin and
in the activity log."""

import pytest
from django.test import Client

from trading.auth.lockout import LOCKED_OUT
from trading.models import ActivityEntry, ActivityKind

pytestmark = pytest.mark.django_db

LOGIN_FORMS = ["/admin/login/", "/dashboard/login/"]


def attempt(client: Client, path: str, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("path", LOGIN_FORMS)
def test_it_locks_a_user_out_after_five_wrong_passwords_even_for_the_right_one(client, alice, path):
    answers = [attempt(client, path, "alice", f"wrong-{n}").status_code for n in range(5)]
    assert answers == [200, 200, 200, 200, 429]
    right = attempt(client, path, "alice", "alice-password-1")
    assert right.status_code == 429
    assert LOCKED_OUT.format(username="alice", minutes=15) in right.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_lockout_on_one_form_holds_on_the_other(client, alice):
    for n in range(5):
        attempt(client, "/admin/login/", "alice", f"wrong-{n}")
    assert attempt(client, "/dashboard/login/", "alice", "alice-password-1").status_code == 429


def test_the_lockout_is_for_the_username_and_address_pair_only(client, alice, bob):
    for n in range(5):
        attempt(client, "/dashboard/login/", "alice", f"wrong-{n}")
    from_elsewhere = attempt(Client(), "/dashboard/login/", "alice", "alice-password-1", ip="10.0.0.2")
    another_user = attempt(Client(), "/dashboard/login/", "bob", "bob-password-1")
    assert from_elsewhere.status_code == 302 and another_user.status_code == 302


def test_a_successful_login_resets_the_count(client, alice):
    for n in range(4):
        attempt(client, "/dashboard/login/", "alice", f"wrong-{n}")
    assert attempt(client, "/dashboard/login/", "alice", "alice-password-1").status_code == 302
    assert [attempt(Client(), "/dashboard/login/", "alice", f"again-{n}").status_code for n in range(4)] == [200] * 4


def test_the_limit_and_the_lockout_time_come_from_the_settings(client, alice, settings):
    from datetime import timedelta

    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=60)
    answers = [attempt(client, "/dashboard/login/", "alice", f"wrong-{n}") for n in range(2)]
    assert [a.status_code for a in answers] == [200, 429]
    assert "locked out for 60 minutes" in answers[-1].content.decode()


def test_a_lockout_is_written_to_the_activity_log_and_listed_in_the_admin(client, alice, bob):
    for n in range(5):
        attempt(client, "/dashboard/login/", "bob", f"wrong-{n}", ip="10.9.8.7")
    entry = ActivityEntry.objects.get(kind=ActivityKind.AUTH)
    assert entry.severity == "warning" and entry.actor == bob
    assert "'bob' from 10.9.8.7 after 5 failed attempts" in entry.message
    admin = Client()
    admin.force_login(alice)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "10.9.8.7" in listing.content.decode()


def test_force_login_in_tests_is_not_throttled(client, alice):
    for n in range(5):
        attempt(client, "/admin/login/", "alice", f"wrong-{n}")
    client.force_login(alice)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("path", LOGIN_FORMS)
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"username=alice&password=" + b"x" * 3_000_000, "application/x-www-form-urlencoded"),
        (b"&".join(b"f%d=1" % n for n in range(1200)), "application/x-www-form-urlencoded"),
        (b"username=%ff%fe&password=%00", "application/x-www-form-urlencoded"),
        (b'{"username": "alice"}', "application/json"),
        (b"--x\r\nContent-Disposition: form-data; name=username\r\n\r\nalice\r\n--x--", "multipart/form-data; boundary=x"),
        (b"username=" + b"a" * 100_000 + b"&password=x", "application/x-www-form-urlencoded"),
    ],
    ids=["3-mb", "1200-fields", "bad-bytes", "json", "multipart-without-password", "100k-username"],
)
def test_a_malformed_login_post_is_answered_4xx_or_the_form_never_500(path, body, content_type):
    client = Client(enforce_csrf_checks=False)
    response = client.generic("POST", path, body, content_type=content_type)
    assert response.status_code in (200, 400, 403, 413, 429), response.status_code


def test_behind_a_proxy_a_forged_forwarded_for_does_not_dodge_the_lockout(alice, settings):
    settings.LOGIN_PROXY_COUNT = 1
    answers = []
    for n in range(5):
        forged = Client(HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 198.51.100.7", REMOTE_ADDR="127.0.0.1")
        answers.append(attempt(forged, "/dashboard/login/", "alice", f"wrong-{n}", ip="127.0.0.1").status_code)
    assert answers[-1] == 429
    another_client = Client(HTTP_X_FORWARDED_FOR="198.51.100.8", REMOTE_ADDR="127.0.0.1")
    assert attempt(another_client, "/dashboard/login/", "alice", "alice-password-1", ip="127.0.0.1").status_code == 302
