"""The table of IB events a handler may subscribe to, derived from ib_insync itself.

The seed (ibkr-event-daemon) typed event names by hand and they never bound. Here the table comes
from ``IB.events`` (the attribute names) and the ``Events:`` section of the ``IB`` class docstring
(the payload each event emits), so a new ib_insync release brings its events with it.

Two spellings are accepted for every event: the ib_insync attribute (``orderStatusEvent``) and the
seed's short name without the ``Event`` suffix (``orderStatus``). One seed-era alias, ``tickers``,
maps to ``pendingTickersEvent``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from trading.iblib import IB

EVENT_SUFFIX = "Event"

# Seed-era names that are not simply an attribute name without its suffix.
ALIASES = {"tickers": "pendingTickers"}

_DOC_ENTRY = re.compile(r"\*\s+``(\w+)``\s+\((.*?)\)\s*:", re.DOTALL)


@dataclass(frozen=True)
class EventSpec:
    """One ib_insync event: its short name, the ``IB`` attribute and the emitted parameters.

    ``params`` is None when the docstring does not describe the payload; the arity check is then
    skipped rather than guessed.
    """

    name: str
    attr: str
    params: tuple[str, ...] | None

    @property
    def arity(self) -> int | None:
        return None if self.params is None else len(self.params)

    def describe(self) -> str:
        args = "..." if self.params is None else ", ".join(self.params)
        return f"{self.name}(ib, {args})" if args else f"{self.name}(ib)"


class UnknownEventError(ValueError):
    """Raised for an event name that is neither an ib_insync attribute nor its short form."""


def _parse_payloads(doc: str) -> dict[str, tuple[str, ...]]:
    """Read ``* ``fooEvent`` (a: T, b: U):`` entries from the IB class docstring."""
    payloads = {}
    for attr, raw in _DOC_ENTRY.findall(doc):
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        payloads[attr] = tuple(part.split(":", 1)[0].strip() for part in parts)
    return payloads


def _short_name(attr: str) -> str:
    return attr[: -len(EVENT_SUFFIX)] if attr.endswith(EVENT_SUFFIX) else attr


def _build_table() -> dict[str, EventSpec]:
    payloads = _parse_payloads(IB.__doc__ or "")
    table: dict[str, EventSpec] = {}
    for attr in IB.events:
        spec = EventSpec(name=_short_name(attr), attr=attr, params=payloads.get(attr))
        table[spec.name] = spec
        table[spec.attr] = spec
    for alias, target in ALIASES.items():
        table[alias] = table[target]
    return table


EVENTS: dict[str, EventSpec] = _build_table()


def accepted_names() -> list[str]:
    """Every accepted short name, sorted; the attribute spellings are accepted too."""
    return sorted({spec.name for spec in EVENTS.values()} | set(ALIASES))


def suggest(name: str) -> str | None:
    """The closest accepted spelling of ``name``, for error messages."""
    lowered = {known.lower(): known for known in EVENTS}
    if name.lower() in lowered:
        return lowered[name.lower()]
    matches = difflib.get_close_matches(name, list(EVENTS), n=1, cutoff=0.6)
    return matches[0] if matches else None


def resolve_event(name: str) -> EventSpec:
    """Return the spec for ``name`` or raise ``UnknownEventError`` with a suggestion."""
    if isinstance(name, str) and name in EVENTS:
        return EVENTS[name]
    hint = suggest(name) if isinstance(name, str) else None
    did_you_mean = f" Did you mean {hint!r}?" if hint else ""
    raise UnknownEventError(
        f"unknown IB event {name!r}.{did_you_mean} Accepted: {', '.join(accepted_names())} "
        f"(or the ib_insync attribute name, e.g. 'orderStatusEvent')."
    )
