"""initialize_ib(): bind discovered handlers, then connect, in one call (connect injected here)."""

import pytest
from ib_insync import IB

from tests.handlers.factories import make_trade, status_handler
from trading.handlers import (
    HandlerLoadFailed,
    HandlerManager,
    connection_settings,
    initialize_ib,
    initialize_ib_async,
)

CONNECTED_HANDLER = """
from trading.handlers import IBEventRegistry

@IBEventRegistry.collect("connected")
def on_connected(ib):
    ib.probe.append("connected")
"""


def fake_connect(calls):
    """Stands in for ib.connect: records its arguments and emits what a real connect emits."""

    def connect(ib, host, port, client_id):
        calls.append((host, port, client_id))
        ib.connectedEvent.emit()

    return connect


def test_it_binds_the_handlers_before_connecting_with_env_defaults(monkeypatch, handlers_dir, write):
    write("connected.py", CONNECTED_HANDLER)
    write("status.py", status_handler("status"))
    monkeypatch.setenv("IB_DAEMON_HANDLERS", str(handlers_dir))
    monkeypatch.setenv("IB_PORT", "4010")
    monkeypatch.setenv("IB_CLIENT_ID", "17")
    calls = []
    existing = IB()
    existing.probe = []

    ib = initialize_ib(ib=existing, connect=fake_connect(calls))
    ib.orderStatusEvent.emit(make_trade(order_id=9))

    assert ib is existing
    assert calls == [("127.0.0.1", 4010, 17)]
    assert ib.probe == ["connected", ("status", 9)]  # the connect-time event reached its handler
    assert isinstance(ib.handler_manager, HandlerManager)
    assert len(ib.handler_manager.stats()) == 2


def test_explicit_arguments_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("IB_HOST", "gateway")
    monkeypatch.setenv("IB_PORT", "4001")

    assert connection_settings("10.0.0.5", 7497, 0) == ("10.0.0.5", 7497, 0)
    assert connection_settings() == ("gateway", 4001, 1)


def test_a_malformed_port_names_the_variable(monkeypatch):
    monkeypatch.setenv("IB_PORT", "four")

    with pytest.raises(ValueError, match="IB_PORT must be an integer"):
        connection_settings()


def test_strict_mode_refuses_to_start_with_a_broken_handler(handlers_dir, write):
    write("broken.py", "def (:\n")
    write("good.py", status_handler("good"))
    ib = IB()

    with pytest.raises(HandlerLoadFailed, match="broken.py:1"):
        initialize_ib(paths=[handlers_dir], ib=ib, strict=True, connect=fake_connect([]))

    assert len(ib.orderStatusEvent) == 0


def test_a_failed_connect_unbinds_the_handlers(handlers_dir, write):
    write("good.py", status_handler("good"))
    ib = IB()

    def refuse(ib, host, port, client_id):
        raise ConnectionRefusedError("no gateway")

    with pytest.raises(ConnectionRefusedError):
        initialize_ib(paths=[handlers_dir], ib=ib, connect=refuse)

    assert len(ib.orderStatusEvent) == 0


@pytest.mark.asyncio
async def test_the_async_variant_awaits_the_connect(handlers_dir, write):
    write("connected.py", CONNECTED_HANDLER)
    calls = []

    async def connect(ib, host, port, client_id):
        fake_connect(calls)(ib, host, port, client_id)

    ib = IB()
    ib.probe = []
    result = await initialize_ib_async("h", 1234, 5, [handlers_dir], ib=ib, connect=connect)

    assert result is ib and calls == [("h", 1234, 5)] and ib.probe == ["connected"]
