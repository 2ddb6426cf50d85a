"""Small waiting and connecting helpers for the paper-gateway tests (no sleeping as synchronisation)."""

from __future__ import annotations

from ib_insync import IB

from tests.harness import until  # noqa: F401 - the gateway tests import it from here


async def connect(port: int, client_id: int, timeout: float = 5.0) -> IB:
    client = IB()
    await client.connectAsync("127.0.0.1", port, clientId=client_id, timeout=timeout)
    return client


class ErrorLog:
    """Collects (reqId, code, message) from an IB client's errorEvent."""

    def __init__(self, client: IB) -> None:
        self.items: list[tuple[int, int, str]] = []
        client.errorEvent += self._on_error

    def _on_error(self, req_id, code, message, contract) -> None:
        self.items.append((req_id, code, message))

    def codes(self) -> list[int]:
        return [code for _, code, _ in self.items]

    def has(self, code: int, req_id: int | None = None) -> bool:
        return any(c == code and (req_id is None or r == req_id) for r, c, _ in self.items)
