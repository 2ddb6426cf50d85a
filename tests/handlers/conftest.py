"""Fixtures for the handler tests: no Django, a real ``ib_insync.IB`` that is never connected."""

import pytest
from ib_insync import IB

from tests.handlers.factories import write_file


@pytest.fixture(autouse=True)
def _handler_env_unset(monkeypatch):
    """Each test says which handler paths it uses; the developer's environment never leaks in."""
    monkeypatch.delenv("IB_DAEMON_HANDLERS", raising=False)
    for name in ("IB_HOST", "IB_PORT", "IB_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ib():
    """A real IB client; handlers under test record what they see on ``ib.probe``."""
    client = IB()
    client.probe = []
    yield client
    client.disconnect()


@pytest.fixture
def handlers_dir(tmp_path):
    folder = tmp_path / "myhandlers"
    folder.mkdir()
    return folder


@pytest.fixture
def write(handlers_dir):
    """``write('a.py', source)`` writes a handler file under ``handlers_dir``."""

    def write(relative, source=""):
        return write_file(handlers_dir, relative, source)

    return write
