"""What `manage.py up` starts for the IB connections: the default connection exactly as before, plus a
worker per other enabled connection and an embedded paper gateway per paper one with no host."""

import sys

import pytest
from django.core.management.base import CommandError

from trading.connections.services import connection_add, connection_set_enabled
from trading.management.commands.up import Command as UpCommand

pytestmark = pytest.mark.django_db
MANAGE = [sys.executable, "manage.py"]


@pytest.fixture
def env(settings):
    settings.IB_GATEWAY_CONFIGURED, settings.IB_PORT, settings.IB_CLIENT_ID, settings.IB_ACCOUNT = False, 4002, 1, ""
    settings.REDIS_EMBEDDED = False  # planning with it would stop the embedded Redis the tests use
    return settings


def plan(up: UpCommand, **kwargs) -> dict[str, list[str]]:
    programs = up._programs("127.0.0.1", 8000, True, "127.0.0.1", 4002, **kwargs)
    return {p.name: p.argv for p in programs}


def test_with_only_the_default_connection_up_starts_what_it_always_did(env):
    up = UpCommand()
    connections = up._connections()
    assert list(connections) == ["default"] and connections["default"].embedded

    programs = plan(up, extras=[], default_enabled=True)

    assert list(programs) == ["gateway", "web", "worker", "cluster"]
    assert programs["gateway"] == [*MANAGE, "ibsim", "--port", "4002", "--state", str(env.VAR_DIR / "paper-gateway-state.json")]
    assert programs["worker"] == [*MANAGE, "ibworker", "--host", "127.0.0.1", "--port", "4002"]


def test_up_starts_a_worker_per_enabled_connection_and_a_paper_gateway_per_paper_connection_with_no_host(env):
    connection_add(name="sim2", port=4012, client_id=1, accounts=["DU2"])
    connection_add(name="desk3", host="10.0.0.9", port=4002, client_id=1)
    connection_add(name="old", port=4013, client_id=1)
    connection_set_enabled(name="old", enabled=False)
    up = UpCommand()
    connections = up._connections()
    connections.pop("default")

    programs = plan(up, extras=list(connections.values()), default_enabled=True)

    assert list(programs) == ["gateway", "gateway-sim2", "web", "worker", "worker-desk3", "worker-sim2", "cluster"]
    state = str(env.VAR_DIR / "paper-gateway-sim2-state.json")
    assert programs["gateway-sim2"] == [*MANAGE, "ibsim", "--port", "4012", "--state", state, "--account", "DU2"]
    assert programs["worker-sim2"] == [*MANAGE, "ibworker", "--connection", "sim2"]
    assert programs["worker-desk3"] == [*MANAGE, "ibworker", "--connection", "desk3"], "a real gateway: no paper gateway"


def test_a_disabled_default_connection_gets_no_worker_and_no_gateway(env):
    connection_add(name="sim2", port=4012, client_id=1)
    up = UpCommand()
    rows = up._connections()
    programs = plan(up, extras=[rows["sim2"]], default_enabled=False)
    assert list(programs) == ["gateway-sim2", "web", "worker-sim2", "cluster"]


def test_a_paper_gateway_port_asked_for_twice_is_refused_before_anything_starts(env):
    connection_add(name="sim2", port=4012, client_id=1)
    rows = UpCommand()._connections()
    with pytest.raises(
        CommandError, match=r"port 4012 is asked for twice \(the paper gateway of connection 'sim2', and 'default'\)"
    ):
        UpCommand()._check_embedded_ports([rows["sim2"]], default_port=4012)
    with pytest.raises(CommandError, match="port 4012 is asked for twice .* and the web server"):
        UpCommand()._check_embedded_ports([rows["sim2"]], default_port=None, web_port=4012)
