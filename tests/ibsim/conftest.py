"""ib_insync clients for the paper-gateway tests (the ``paper_gateway`` fixture comes from the
``trading.ibsim.testing`` plugin registered in the root conftest)."""

import pytest_asyncio
from ib_insync import IB


@pytest_asyncio.fixture
async def ib(paper_gateway):
    """Client id 1, connected and fully synchronised."""
    client = IB()
    await client.connectAsync("127.0.0.1", paper_gateway.port, clientId=1, timeout=5)
    yield client
    client.disconnect()
