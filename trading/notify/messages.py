"""What a message says: one item per event (title, one line, body), and a burst folded into one summary."""

from __future__ import annotations

from trading.clock import local_text
from trading.models import ActivityEntry, ActivityKind, Fill, NotifyKind

PLURALS = {
    NotifyKind.FILL: "fills",
    NotifyKind.ORDER_REJECTED: "orders rejected",
    NotifyKind.RUN_FAILED: "runs failed",
    NotifyKind.KILL_SWITCH: "kill switch events",
    NotifyKind.DISCONNECTED: "connection alerts",
    NotifyKind.EXTERNAL_POSITION: "external position changes",
    NotifyKind.DAILY_SUMMARY: "daily summaries",
    NotifyKind.TEST: "test messages",
}
LEVELS = {"info": "info", "warning": "warning", "error": "failure"}  # activity severity → apprise NotifyType
SHOWN_IN_TITLE = 3


def item_make(*, title: str, line: str, body: str, level: str = "info", entry: int | None = None) -> dict:
    return {"title": title[:200], "line": line[:200], "body": body[:2000], "level": level, "entry": entry}


def item_from_entry(entry: ActivityEntry, kind: str) -> dict:
    """One event as a message item; a fill is told from its row (side, quantity, symbol, price, strategy)."""
    mode = f" [{entry.mode}]" if entry.mode else ""
    line = entry.message
    if kind == NotifyKind.FILL:
        fill = Fill.objects.filter(pk=entry.payload.get("fill")).first()
        if fill is not None:
            line = f"{fill.side} {_number(fill.shares)} {fill.symbol} @ {_number(fill.price)}"
            if fill.strategy:
                line += f" ({fill.strategy})"
    label = NotifyKind(kind).label
    if kind == NotifyKind.KILL_SWITCH:
        label = "Kill switch tripped by risk_check" if entry.kind == ActivityKind.RISK else "Kill switch engaged by a person"
    details = [entry.message, f"at {local_text(entry.created_at)}"]
    if entry.strategy:
        details.append(f"strategy: {entry.strategy}")
    if entry.run_id:
        details.append(f"run #{entry.run_id}")
    return item_make(
        title=f"{label}{mode}: {line}",
        line=line,
        body="\n".join(details),
        level=LEVELS.get(entry.severity, "info"),
        entry=entry.pk,
    )


def message_render(kind: str, items: list[dict]) -> tuple[str, str, str]:
    """(title, body, level) for the items one send gathered: one item as it is; a burst as a summary
    ("5 fills: BUY 1 SPY @ 450; …") whose body lists every item."""
    if len(items) == 1:
        item = items[0]
        return item["title"], item["body"], item["level"]
    lines = [item["line"] for item in items]
    shown = "; ".join(lines[:SHOWN_IN_TITLE]) + ("; …" if len(lines) > SHOWN_IN_TITLE else "")
    title = f"{len(items)} {PLURALS.get(kind, kind)}: {shown}"[:250]
    levels = {item["level"] for item in items}
    level = "failure" if "failure" in levels else "warning" if "warning" in levels else "info"
    return title, "\n".join(f"• {line}" for line in lines), level


def _number(value) -> str:
    """400.250000 (a decimal column) as 400.25."""
    return format(value.normalize(), "f")
