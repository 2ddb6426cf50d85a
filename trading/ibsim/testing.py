"""pytest support: the ``paper_gateway`` fixture (a fresh gateway per test, in a background thread).

Each test gets its own gateway on a free 127.0.0.1 port, seed 1, 50 ms price steps. Settings can
be changed per test with a marker::

    @pytest.mark.paper_gateway(master_client_id=9, partial_fills=3, tick_interval=0)
    def test_it_fills_in_three_slices(paper_gateway): ...

Use as a plugin (``pytest_plugins = ["trading.ibsim.testing"]``) or import ``paper_gateway`` and
``pytest_configure`` into a conftest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from trading.ibsim.threaded import ThreadedGateway, run_in_thread

__all__ = ["TEST_DEFAULTS", "ThreadedGateway", "paper_gateway", "pytest_configure", "run_in_thread"]

TEST_DEFAULTS = {"port": 0, "seed": 1, "tick_interval": 0.05, "slice_interval": 0.02}


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "paper_gateway(**settings): settings for the paper_gateway fixture")


@pytest.fixture
def paper_gateway(request) -> Iterator[ThreadedGateway]:
    """A fresh paper gateway on a free 127.0.0.1 port, running in a background thread."""
    settings = dict(TEST_DEFAULTS)
    marker = request.node.get_closest_marker("paper_gateway")
    if marker is not None:
        settings.update(marker.kwargs)
    with run_in_thread(**settings) as gateway:
        yield gateway
