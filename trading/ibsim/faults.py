"""Fault-injection switches read by sessions and handlers.

The actions (drop connections, restart, reject the next order, external trades, connectivity
loss) live on :class:`~trading.ibsim.server.PaperGateway`; this holds the standing conditions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Faults:
    """Standing fault conditions; all off by default."""

    reply_delay: float = 0.0
    """Seconds every request waits before it is handled (replies keep their order)."""

    max_message_rate: int | None = None
    """IB's cut-off: above this many messages in one second a client gets error 100 and is dropped."""

    pacing_violations: int = 0
    """How many of the next historical-data requests fail with error 162 (pacing violation)."""

    farms_broken: bool = False
    """While set, new connections are greeted with 2103/2105 (farm broken) instead of 2104/2106."""

    def take_pacing_violation(self) -> bool:
        if self.pacing_violations <= 0:
            return False
        self.pacing_violations -= 1
        return True
