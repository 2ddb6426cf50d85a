"""`manage.py connection add|list|enable|disable`: IB connections from a shell (the admin does the same).

manage.py connection add desk2 --host 10.0.0.6 --port 4002 --client-id 1 --mode paper --account DU222 [--account …]
manage.py connection add sim2 --port 4012 --client-id 1 --account DU2     # no --host: an embedded paper gateway
manage.py connection list [--json]
manage.py connection disable desk2        # `up` starts no worker for it; `enable` undoes it

A refusal (duplicate or unknown name, bad port, an endpoint another connection uses) exits 2 with one line.
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from trading.connections.services import (
    ConnectionProblem,
    connection_add,
    connection_default_sync,
    connection_list,
    connection_set_enabled,
)
from trading.models import TradingMode, WorkerLease

EXIT_REFUSED = 2
ADDED = "added connection {name!r}: {endpoint} client id {client_id}, {mode}{accounts}"
SET = "connection {name!r} is {state}"
COLUMNS = ("name", "enabled", "mode", "endpoint", "client id", "accounts", "worker lease")


class Command(BaseCommand):
    help = "Add, list, enable and disable IB connections (one worker per enabled connection)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Add a connection (enabled).")
        add.add_argument("name")
        add.add_argument("--host", default="", help="Gateway host; none: an embedded paper gateway `up` starts.")
        add.add_argument("--port", type=int, required=True, help="Gateway port (4001/4002 Gateway, 7496/7497 TWS).")
        add.add_argument("--client-id", type=int, required=True, help="The worker's client id on that gateway.")
        add.add_argument("--mode", default=TradingMode.PAPER, help="paper (default) or live: what the gateway is.")
        add.add_argument("--account", action="append", default=[], help="An account it may trade (repeatable).")
        listing = sub.add_parser("list", help="List the connections and who holds each one's worker lease.")
        listing.add_argument("--json", dest="as_json", action="store_true", help="One JSON array on stdout.")
        for action in ("enable", "disable"):
            setter = sub.add_parser(action, help=f"{action.capitalize()} a connection (`up` starts workers of enabled ones).")
            setter.add_argument("name")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except ConnectionProblem as exc:
            raise CommandError(str(exc), returncode=EXIT_REFUSED) from None

    def _add(self, *, name, host, port, client_id, mode, account, **_):
        row = connection_add(name=name, host=host, port=port, client_id=client_id, mode=mode, accounts=account)
        accounts = f", accounts {', '.join(row.accounts)}" if row.accounts else ""
        self.stdout.write(
            ADDED.format(name=row.name, endpoint=row.endpoint, client_id=row.client_id, mode=row.mode, accounts=accounts)
        )

    def _enable(self, *, name, **_):
        connection_set_enabled(name=name, enabled=True)
        self.stdout.write(SET.format(name=name, state="enabled"))

    def _disable(self, *, name, **_):
        connection_set_enabled(name=name, enabled=False)
        self.stdout.write(SET.format(name=name, state="disabled: `up` starts no worker for it"))

    def _list(self, *, as_json: bool = False, **_):
        try:
            connection_default_sync()  # the list shows the environment's row as it is now
        except ConnectionProblem as exc:  # still list: the table is where the clash is seen
            self.stderr.write(f"warning: {exc}")
        rows = [_row_dict(row) for row in connection_list()]
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        table = [COLUMNS] + [
            (
                r["name"], "yes" if r["enabled"] else "no", r["mode"], r["endpoint"], str(r["client_id"]),
                ", ".join(r["accounts"]) or "(all managed)", r["lease"] or "-",
            )
            for r in rows
        ]  # fmt: skip
        widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
        for line in table:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def _row_dict(row) -> dict:
    lease = WorkerLease.objects.filter(connection=row.name, client_id=row.client_id, released=False).first()
    expired = lease is not None and lease.expires_at <= timezone.now()
    return {
        "name": row.name,
        "enabled": row.enabled,
        "mode": row.mode,
        "host": row.host,
        "port": row.port,
        "endpoint": row.endpoint,
        "client_id": row.client_id,
        "accounts": row.accounts,
        "lease": f"{lease.owner} (token {lease.token}{', expired' if expired else ''})" if lease else "",
        "updated_at": row.updated_at.isoformat(),
    }
