"""IB connections as data: the environment's `default` row, `manage.py connection`, and the admin."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from trading.connections import services
from trading.connections.services import connection_add, connection_default_sync
from trading.models import IBConnection

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(settings):
    """The environment of today, as the settings read it (console/settings.py)."""
    settings.IB_GATEWAY_CONFIGURED = True
    settings.IB_HOST, settings.IB_PORT, settings.IB_CLIENT_ID = "10.0.0.5", 4001, 17
    settings.IB_ACCOUNT, settings.TRADING_MODE = "U123", "live"
    IBConnection.objects.all().delete()
    return settings


def connection(*args: str) -> str:
    out = StringIO()
    call_command("connection", *args, stdout=out)
    return out.getvalue()


def test_it_creates_the_default_row_from_the_environment_and_brings_it_in_step_when_the_environment_changes(env):
    row = connection_default_sync()
    assert (row.name, row.host, row.port, row.client_id, row.mode, row.accounts, row.enabled) == (
        "default", "10.0.0.5", 4001, 17, "live", ["U123"], True,
    )  # fmt: skip
    IBConnection.objects.filter(pk=row.pk).update(enabled=False)  # an operator's choice

    env.IB_PORT, env.IB_CLIENT_ID, env.IB_ACCOUNT, env.TRADING_MODE = 4002, 18, "", "paper"
    again = connection_default_sync()

    assert again.pk == row.pk and IBConnection.objects.count() == 1
    assert (again.port, again.client_id, again.mode, again.accounts) == (4002, 18, "paper", [])
    assert again.enabled is False, "the sync never touches enabled"


def test_with_no_ib_host_or_port_the_default_row_is_the_embedded_paper_gateway(env):
    env.IB_GATEWAY_CONFIGURED, env.IB_HOST, env.TRADING_MODE = False, "127.0.0.1", "paper"
    row = connection_default_sync()
    assert row.host == "" and row.embedded and row.endpoint == "127.0.0.1:4001 (embedded)"


def test_a_default_row_that_would_take_another_connections_endpoint_is_refused_in_one_line(env):
    connection_add(name="desk2", host="10.0.0.5", port=4001, client_id=17, mode="live")
    with pytest.raises(services.ConnectionProblem, match="clashes with another connection: 10.0.0.5:4001 client id 17"):
        connection_default_sync()
    err = StringIO()
    call_command("connection", "list", stdout=StringIO(), stderr=err)
    assert err.getvalue().startswith("warning: the environment's default connection"), "the list still shows the rows"


def test_connection_add_list_disable_and_enable(env):
    said = connection("add", "desk2", "--host", "10.0.0.6", "--port", "4002", "--client-id", "1", "--account", "DU2",
                      "--account", "DU3")  # fmt: skip
    assert said.strip() == "added connection 'desk2': 10.0.0.6:4002 client id 1, paper, accounts DU2, DU3"
    connection("add", "sim2", "--port", "4012", "--client-id", "1")

    table = connection("list").splitlines()
    assert table[0].split() == ["name", "enabled", "mode", "endpoint", "client", "id", "accounts", "worker", "lease"]
    assert [line.split()[0] for line in table[1:]] == ["default", "desk2", "sim2"], "the environment's row is listed too"
    assert "127.0.0.1:4012 (embedded)" in table[3] and "(all managed)" in table[3]

    assert connection("disable", "desk2").startswith("connection 'desk2' is disabled")
    rows = {r["name"]: r for r in json.loads(connection("list", "--json"))}
    assert rows["desk2"]["enabled"] is False and rows["desk2"]["accounts"] == ["DU2", "DU3"]
    assert rows["default"]["client_id"] == 17
    connection("enable", "desk2")
    assert IBConnection.objects.get(name="desk2").enabled is True


@pytest.mark.parametrize(
    "args, message",
    [
        (["add", "desk2", "--port", "4012", "--client-id", "2"], "a connection named 'desk2' already exists"),
        (["disable", "nope"], "no connection named 'nope' (manage.py connection list shows them)"),
        (["add", "x", "--port", "70000", "--client-id", "1"], "bad port 70000: a TCP port is 1-65535"),
        (["add", "x", "--host", "10.0.0.6", "--port", "4002", "--client-id", "1"],
         "10.0.0.6:4002 client id 1 is already used by connection 'desk2'"),
        (["add", "x", "--port", "4011", "--client-id", "5"], "port 4011 is already the embedded paper gateway of connection 'sim2'"),
        (["add", "x", "--port", "4001", "--client-id", "1", "--mode", "live"], services.LIVE_NEEDS_HOST),
        (["add", "bad name", "--port", "4020", "--client-id", "1"], "bad connection name 'bad name'"),
    ],
)  # fmt: skip
def test_connection_refuses_bad_input_with_exit_2_and_one_line(env, args, message):
    connection_add(name="desk2", host="10.0.0.6", port=4002, client_id=1)
    connection_add(name="sim2", port=4011, client_id=1)
    before = list(IBConnection.objects.values())

    with pytest.raises(CommandError) as refused:  # manage.py prints "CommandError: <message>" and exits with its code
        connection(*args)

    assert refused.value.returncode == 2
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)
    assert list(IBConnection.objects.values()) == before, "a refusal changes nothing"


def test_two_gateways_may_each_have_a_client_1(env):
    connection_add(name="desk2", host="10.0.0.6", port=4002, client_id=1)
    connection_add(name="desk3", host="10.0.0.7", port=4002, client_id=1)
    assert IBConnection.objects.filter(client_id=1).count() == 2


def test_the_admin_lists_adds_and_disables_connections_and_keeps_the_defaults_endpoint_read_only(env, alice_client):
    default = connection_default_sync()
    changelist = reverse("admin:trading_ibconnection_changelist")
    page = alice_client.get(changelist).content.decode()
    assert "10.0.0.5:4001" in page and "U123" in page

    add = reverse("admin:trading_ibconnection_add")
    form = {"name": "desk2", "host": "10.0.0.5", "port": "4001", "client_id": "17", "mode": "live", "accounts": "DU2, DU3",
            "enabled": "on"}  # fmt: skip
    refused = alice_client.post(add, form)
    assert refused.status_code == 200 and "is already used by connection &#x27;default&#x27;" in refused.content.decode()
    assert alice_client.post(add, {**form, "client_id": "18"}).status_code == 302
    assert IBConnection.objects.get(name="desk2").accounts == ["DU2", "DU3"]

    alice_client.post(changelist, {"action": "disable", "_selected_action": [default.pk]})
    assert IBConnection.objects.get(pk=default.pk).enabled is False

    change_url = reverse("admin:trading_ibconnection_change", args=[default.pk])
    change = alice_client.get(change_url).content.decode()
    assert 'name="host"' not in change and 'name="enabled"' in change, "the environment owns the endpoint"
    assert alice_client.post(change_url, {"enabled": "on", "host": "evil", "accounts": ""}).status_code == 302
    default.refresh_from_db()
    assert (default.enabled, default.host, default.accounts) == (True, "10.0.0.5", ["U123"]), "only enabled is edited"
    assert alice_client.post(reverse("admin:trading_ibconnection_delete", args=[default.pk]), {"post": "yes"}).status_code == 403
    assert IBConnection.objects.filter(pk=default.pk).exists()
