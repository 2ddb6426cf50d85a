"""The dashboard's snapshot: everything the page shows, read in one go when a socket connects.

After the snapshot the browser only applies deltas (the worker's `live.event` messages), so the
snapshot and the deltas share their payload shapes (see selectors.py). Sync code: the consumer calls
it through `database_sync_to_async`.
"""

from __future__ import annotations

from django.conf import settings

from trading.config import effective_config, switch_status
from trading.dashboard import selectors
from trading.intents.registry import intent_list, intents_load
from trading.live import live_event
from trading.selectors import accounts_known as records_accounts
from trading.worker.health import heartbeat_state

# Intents import ib_insync, whose eventkit asks for the importing thread's event loop: load them now, at
# import (the server's main thread), not on first use in a database thread that has no loop.
intents_load()

SNAPSHOT = "snapshot"
STATUS = "status"
UNKNOWN_ACCOUNT = "unknown account {account!r}: this mode's accounts are {known}"


def status_build() -> dict:
    """The status bar: trading mode and switches (read now, never cached) and the worker's heartbeat."""
    config = effective_config()
    return {
        **switch_status(config),
        "dry_run_default": config.dry_run_default,
        "time_zone": config.display_time_zone,  # every time on the page is shown in this zone
        "worker": worker_status(),
    }


def worker_status() -> dict:
    state = heartbeat_state()
    details = state.get("details") or {}
    return {
        "alive": state["alive"],
        "connected": state["connected"],
        "reason": state["reason"],
        "age_seconds": state.get("age_seconds"),
        "max_age": settings.WORKER_HEARTBEAT_MAX_AGE,
        "state": details.get("state", ""),
        "gateway": state.get("gateway", ""),
        "server_version": state.get("server_version"),
        "mode": state.get("mode", ""),
        "last_event_at": state.get("last_event_at"),
        "loop_lag_ms": state.get("loop_lag_ms"),
        "runs_in_progress": state.get("runs_in_progress", []),
    }


def intent_forms() -> list[dict]:
    """Each intent with its parameter JSON schema; the page builds the run form from it."""
    return [{**intent.describe(), "requires_ib": intent.requires_ib} for intent in intent_list()]


def account_view(account: str | None, *, mode: str) -> tuple[str, list[str]]:
    """(the account the page asked to see, or "" for all; the accounts it may choose from). An account
    this mode does not know is refused (ValueError naming the known ones)."""
    known = records_accounts(mode=mode)
    account = (account or "").strip()
    if account and account not in known:
        raise ValueError(UNKNOWN_ACCOUNT.format(account=account, known=", ".join(known) or "none recorded yet"))
    return account, known


def snapshot_build(*, user, account: str = "") -> dict:
    """The full picture for one user, as a schema-v1 message of type `snapshot`: of one account, or of
    all of them ("": the page sums what can be summed)."""
    status = status_build()
    mode = status["mode"]
    account, accounts = account_view(account, mode=mode)
    pnl = selectors.pnl_list(mode=mode, account=account)
    payload = {
        "user": {"username": user.get_username(), "is_staff": user.is_staff},
        "status": status,
        "account": account,
        "accounts": accounts,
        "orders": selectors.order_list(mode=mode, account=account),
        "positions": selectors.position_list(mode=mode, account=account),
        "account_values": selectors.account_value_list(mode=mode, account=account),
        "pnl": pnl[0] if len(pnl) == 1 else None,  # one account's; the page sums `pnl_accounts` for several
        "pnl_accounts": pnl,
        "fills": selectors.fill_list(mode=mode, account=account),
        "runs": selectors.run_list(),
        "activity": selectors.activity_list(mode=mode),
        "handler_problems": selectors.handler_problem_list(),
        "equity": selectors.equity_today(mode=mode, account=account),
        "intents": intent_forms(),
    }
    return live_event(SNAPSHOT, payload, mode=mode)


def status_reply(*, activity_after: int | None, account: str = "") -> dict:
    """The answer to the page's periodic `status.get`: switches and heartbeat (no worker event carries
    them when they change in the admin or when the worker dies), activity written outside the worker
    (intent bodies, refusals, config changes) since the newest entry the page has, and the digest the
    page compares with what it shows (of the account it shows), to heal from dropped deltas."""
    status = status_build()
    mode = status["mode"]
    activity = selectors.activity_list(mode=mode, after=activity_after) if activity_after is not None else []
    digest = selectors.digest(mode=mode, account=account)
    return live_event(STATUS, {"status": status, "activity": activity, "digest": digest}, mode=mode)
