"""Order tags: every order the console sends carries `orderRef` = "<owner>/<run id>".

The owner is the strategy that wants the position (or the intent, for actions such as close_all), so
every fill maps back to the run and the strategy that caused it, across restarts (IB keeps orderRef).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "ibc"
PATTERN = re.compile(r"^ibc:(?P<owner>[A-Za-z0-9_.-]{1,64})/(?P<run_id>\d+)$")


@dataclass(frozen=True)
class OrderRef:
    owner: str
    run_id: int


def order_ref_build(*, owner: str, run_id: int) -> str:
    ref = f"{PREFIX}:{owner}/{run_id}"
    if not PATTERN.match(ref):
        raise ValueError(f"cannot tag an order for owner {owner!r} and run {run_id!r}")
    return ref


def order_ref_parse(ref: str | None) -> OrderRef | None:
    """The owner and run behind an orderRef, or None for orders the console did not place."""
    match = PATTERN.match(ref or "")
    if not match:
        return None
    return OrderRef(owner=match["owner"], run_id=int(match["run_id"]))
