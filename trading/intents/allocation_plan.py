"""The allocator's arithmetic, without IB or the database: strategies' targets and holdings, IB's
positions and in-flight orders in; the aggregate target, the orders to send and notes out.

Rules (docs/INTENTS.md, `allocation`):
- A strategy is *allocated* when it is enabled, selected (all by default) and its newest target is
  fresh and successful. Its target rows are summed per contract.
- Every other strategy (disabled, not selected, stale, missing, failed) *keeps* what it holds: its
  recorded holdings are added to the target of any contract the allocated strategies trade, capped at
  what IB actually holds, so nothing is bought or sold on its behalf.
- The contracts acted on are those an allocated strategy targets or holds (holding something the new
  target leaves out means selling it). delta = target − (IB position + in-flight open orders).
- A position no strategy targets or holds is left alone, unless `flatten_unowned` is on.
- Under soft stop (reduce-only), a line that would take a position past zero is cut to close it to
  flat instead (`soft_stop_clamp`): a trader who asks for −10 while +10 is held gets the +10 sold and
  the short left for when soft stop is off, with a note — not a refused run that also leaves the long
  open. Lines that only increase a position are still sent to the gateway, which refuses them.
- One net order per contract; its owner (orderRef) is the allocated strategy whose own gap (its target
  − its holding) points the same way and is largest, else the largest contributor, else `allocation`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

FRESH = "fresh"
STALE = "stale"
MISSING = "missing"
FAILED = "failed"
DISABLED = "disabled"
NOT_SELECTED = "not_selected"
UNOWNED_OWNER = "allocation"


@dataclass
class StrategyInput:
    strategy_id: str
    status: str
    rows: list[dict] = field(default_factory=list)  # the target's rows (fresh strategies only)
    holdings: dict[int, float] = field(default_factory=dict)  # con_id -> recorded quantity
    target_id: int | None = None
    updated_at: str | None = None
    age_minutes: float | None = None

    def quantities(self) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        for row in self.rows:
            out[int(row["con_id"])] += float(row["quantity"])
        return dict(out)

    def as_dict(self) -> dict:
        return {
            "strategy_id": self.strategy_id,
            "status": self.status,
            "target": self.target_id,
            "updated_at": self.updated_at,
            "age_minutes": None if self.age_minutes is None else round(self.age_minutes, 1),
            "rows": self.rows,
            "holdings": [{"con_id": c, "quantity": q} for c, q in sorted(self.holdings.items())],
        }


@dataclass
class Plan:
    aggregate: list[dict]
    diff: list[dict]
    notes: list[str]


def allocation_plan(
    *,
    strategies: list[StrategyInput],
    positions: dict[int, float],
    in_flight: dict[int, float],
    contracts: dict[int, dict],
    flatten_unowned: bool,
) -> Plan:
    allocated = [s for s in strategies if s.status == FRESH]
    targets: dict[int, float] = defaultdict(float)
    contributors: dict[int, list] = defaultdict(list)
    for strategy in allocated:
        for con_id, quantity in strategy.quantities().items():
            targets[con_id] += quantity
            contributors[con_id].append({"strategy": strategy.strategy_id, "quantity": quantity})
    acted = set(targets) | {c for s in allocated for c, q in s.holdings.items() if q}
    kept: dict[int, list] = defaultdict(list)
    for strategy in strategies:
        if strategy.status != FRESH:
            for con_id, quantity in strategy.holdings.items():
                if quantity:
                    kept[con_id].append({"strategy": strategy.strategy_id, "quantity": quantity})

    aggregate, diff, notes = [], [], []
    for con_id in sorted(acted):
        held, flight = positions.get(con_id, 0.0), in_flight.get(con_id, 0.0)
        kept_quantity = _kept(kept[con_id], held)
        target = targets.get(con_id, 0.0) + kept_quantity
        aggregate.append(
            {**_describe(con_id, contracts), "target": target, "contributors": contributors.get(con_id, []),
             "kept": kept.get(con_id, []), "kept_quantity": kept_quantity}
        )  # fmt: skip
        delta = _round(target - (held + flight), contracts.get(con_id, {}))
        diff.append(_line(con_id, contracts, target, held, flight, delta, _owner(con_id, delta, allocated)))

    unowned = sorted(c for c, q in positions.items() if q and c not in acted and c not in kept)
    for con_id in unowned:
        held, flight = positions[con_id], in_flight.get(con_id, 0.0)
        symbol = contracts.get(con_id, {}).get("symbol", con_id)
        if flatten_unowned:
            delta = _round(-(held + flight), contracts.get(con_id, {}))
            diff.append(_line(con_id, contracts, 0.0, held, flight, delta, UNOWNED_OWNER))
            notes.append(f"{symbol}: {held:g} held by no strategy, flattened (flatten_unowned_positions is on)")
        else:
            notes.append(f"{symbol}: {held:g} held by no strategy, left alone (flatten_unowned_positions is off)")
    for strategy in strategies:
        if strategy.status in (STALE, MISSING, FAILED):
            notes.append(_strategy_note(strategy))
    return Plan(aggregate=aggregate, diff=diff, notes=notes)


def soft_stop_clamp(diff: list[dict]) -> list[str]:
    """Reduce-only: a line that would take (position + in-flight) past zero stops at zero. Returns notes."""
    notes = []
    for line in diff:
        now = line["held"] + line["in_flight"]
        after = now + line["delta"]
        if not now or after * now >= 0:
            continue
        wanted = line["delta"]
        line.update(delta=-now, quantity=abs(now), clamped_from=wanted)
        notes.append(
            f"{line['symbol']}: soft stop is on — {line['action']} {abs(wanted):g} would take {now:g} past zero to"
            f" {after:g}; {line['action']} {abs(now):g} closes it to flat, the rest waits until soft stop is off"
        )
    return notes


def _kept(entries: list[dict], held: float) -> float:
    """What strategies that are not allocated keep: their holdings, never more than IB holds that way."""
    total = sum(e["quantity"] for e in entries)
    if not total or not held or (total > 0) != (held > 0):
        return 0.0
    return min(abs(total), abs(held)) * (1 if total > 0 else -1)


def _owner(con_id: int, delta: float, allocated: list[StrategyInput]) -> str:
    if not delta:
        return ""
    candidates = []
    for strategy in allocated:
        target = strategy.quantities().get(con_id, 0.0)
        holding = strategy.holdings.get(con_id, 0.0)
        if target or holding:
            candidates.append((strategy.strategy_id, target - holding, target))
    same_way = [c for c in candidates if c[1] * delta > 0]
    if same_way:
        return max(same_way, key=lambda c: abs(c[1]))[0]
    if candidates:
        return max(candidates, key=lambda c: abs(c[2]))[0]
    return UNOWNED_OWNER


def _round(delta: float, contract: dict) -> float:
    """Whole shares for stocks (targets are whole already; this absorbs float noise)."""
    return delta if contract.get("sec_type") == "CASH" else float(round(delta))


def _line(con_id, contracts, target, held, flight, delta, owner) -> dict:
    return {
        **_describe(con_id, contracts),
        "target": target,
        "held": held,
        "in_flight": flight,
        "delta": delta,
        "action": "BUY" if delta > 0 else "SELL" if delta < 0 else "",
        "quantity": abs(delta),
        "owner": owner,
    }


def _describe(con_id: int, contracts: dict[int, dict]) -> dict:
    info = contracts.get(con_id, {})
    return {
        "con_id": con_id,
        "symbol": info.get("symbol", ""),
        "sec_type": info.get("sec_type", "STK"),
        "currency": info.get("currency", "USD"),
    }


def _strategy_note(strategy: StrategyInput) -> str:
    if strategy.status == MISSING:
        return f"{strategy.strategy_id}: no target published; it keeps what it holds"
    if strategy.status == FAILED:
        return f"{strategy.strategy_id}: its latest target is an error (target #{strategy.target_id}); it keeps what it holds"
    return f"{strategy.strategy_id}: target #{strategy.target_id} is {strategy.age_minutes or 0:.0f} minutes old (stale); it keeps what it holds"
