"""Fixtures for the paper-gateway tests: a gateway per test and ib_insync clients connected to it."""

import pytest_asyncio
from ib_insync import IB

from trading.ibsim.testing import paper_gateway, pytest_configure  # noqa: F401


@pytest_asyncio.fixture
async def ib(paper_gateway):  # noqa: F811
    """Client id 1, connected and fully synchronised."""
    client = IB()
    await client.connectAsync("127.0.0.1", paper_gateway.port, clientId=1, timeout=5)
    yield client
    client.disconnect()
