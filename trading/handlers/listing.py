"""Human-readable listing of a ``HandlerSet`` for ``manage.py handlers`` and scripts."""

from __future__ import annotations

from trading.handlers.records import HandlerSet


def listing_lines(handler_set: HandlerSet) -> list[str]:
    """One line per handler: event, name, file:line, sync/async; then a summary line."""
    lines = [
        f"{record.event:<18} {record.name:<32} {record.location}  {'async' if record.is_async else 'sync'}"
        for record in handler_set.handlers
    ]
    if not handler_set.handlers:
        lines.append(f"no handlers found in {', '.join(handler_set.paths) or '(no paths)'}")
    lines.append(
        f"{len(handler_set.handlers)} handler(s) in {len(handler_set.files)} file(s), "
        f"{len(handler_set.errors)} load error(s)"
    )
    return lines


def error_lines(handler_set: HandlerSet, *, tracebacks: bool = False) -> list[str]:
    """One line per load error (``file:line: Type: message``), optionally with its traceback."""
    lines = []
    for error in handler_set.errors:
        lines.append(f"ERROR {error}")
        if tracebacks and error.traceback:
            lines.extend("    " + line for line in error.traceback.rstrip().splitlines())
    return lines
