"""IB connections: add, enable/disable, and keep the environment's `default` row in step.

One connection's life::

    (env at start) ──connection_default_sync──▶ default row created, or updated to the env
    connection add ──▶ row (enabled) ──disable──▶ row (disabled) ──enable──▶ row (enabled)
    up ──▶ a worker per enabled row (+ the embedded paper gateway of each paper row with no host)
    ibworker --connection NAME ──▶ the worker of that row; lease keyed by (NAME, client id)

Rules:
- the `default` row mirrors IB_HOST, IB_PORT, IB_CLIENT_ID, IB_ACCOUNT and TRADING_MODE: it is written
  at start (migrate, `up`, a plain `ibworker`) and a hand edit of those fields would be overwritten, so
  the admin shows them read-only; `enabled` is a person's choice and the sync never touches it;
- a blank host means the embedded paper gateway on 127.0.0.1 (so a live connection needs a host); two
  connections never share (host, port, client id), and two embedded gateways never share a port;
- every refusal is a constant message: the command prints it in one line, the admin shows it on the field.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from trading.models import DEFAULT_CONNECTION, IBConnection, TradingMode
from trading.models.connections import connection_name_validator

DUPLICATE_NAME = "a connection named {name!r} already exists"
UNKNOWN_NAME = "no connection named {name!r} (manage.py connection list shows them)"
BAD_NAME = "bad connection name {name!r}: 1-40 letters, digits, '-' or '_', starting with a letter or digit"
BAD_PORT = "bad port {port}: a TCP port is 1-65535"
BAD_CLIENT_ID = "bad client id {client_id}: IB client ids are 0 or more"
BAD_MODE = "bad mode {mode!r}: paper or live"
LIVE_NEEDS_HOST = "a live connection needs --host: the embedded gateway is paper only"
ENDPOINT_TAKEN = "{host}:{port} client id {client_id} is already used by connection {other!r}"
EMBEDDED_PORT_TAKEN = "port {port} is already the embedded paper gateway of connection {other!r}"
DEFAULT_IS_ENV = "the default connection comes from the environment (IB_HOST, IB_PORT, …); change those instead"
DEFAULT_CLASH = "the environment's default connection ({endpoint}) clashes with another connection: {problem}"


class ConnectionProblem(ValueError):
    """A refusal with its one-line message (the command exits 2 with it)."""


def connection_problems(
    *, name: str, host: str, port: int, client_id: int, mode: str, exclude_name: str | None = None
) -> list[str]:
    """Every reason this connection cannot be saved, as the one-line messages above ([] = fine)."""
    problems = []
    try:
        connection_name_validator(name)
    except ValidationError:
        problems.append(BAD_NAME.format(name=name))
    if not 1 <= port <= 65535:
        problems.append(BAD_PORT.format(port=port))
    if client_id < 0:
        problems.append(BAD_CLIENT_ID.format(client_id=client_id))
    if mode not in TradingMode.values:
        problems.append(BAD_MODE.format(mode=mode))
    elif mode == TradingMode.LIVE and not host:
        problems.append(LIVE_NEEDS_HOST)
    problems += _endpoint_problems(host=host, port=port, client_id=client_id, exclude_name=exclude_name)
    return problems


def _endpoint_problems(*, host: str, port: int, client_id: int, exclude_name: str | None) -> list[str]:
    others = IBConnection.objects.exclude(name=exclude_name) if exclude_name else IBConnection.objects.all()
    target = host or "127.0.0.1"
    for other in others.filter(port=port):
        if other.connect_host == target and other.client_id == client_id:
            return [ENDPOINT_TAKEN.format(host=target, port=port, client_id=client_id, other=other.name)]
        if not host and other.embedded:
            return [EMBEDDED_PORT_TAKEN.format(port=port, other=other.name)]
    return []


def connection_add(
    *, name: str, host: str = "", port: int, client_id: int, mode: str = TradingMode.PAPER, accounts: list[str] | None = None
) -> IBConnection:
    if IBConnection.objects.filter(name=name).exists():
        raise ConnectionProblem(DUPLICATE_NAME.format(name=name))
    problems = connection_problems(name=name, host=host, port=port, client_id=client_id, mode=mode)
    if problems:
        raise ConnectionProblem(problems[0])
    try:
        with transaction.atomic():
            return IBConnection.objects.create(
                name=name, host=host, port=port, client_id=client_id, mode=mode, accounts=_accounts(accounts or [])
            )
    except IntegrityError:  # added by someone else between the check and the insert
        raise ConnectionProblem(DUPLICATE_NAME.format(name=name)) from None


def connection_set_enabled(*, name: str, enabled: bool) -> IBConnection:
    """Set (never toggle) whether `up` starts a worker for this connection."""
    row = connection_get(name=name)
    if row.enabled != enabled:
        row.enabled = enabled
        row.save(update_fields=["enabled", "updated_at"])
    return row


def connection_get(*, name: str) -> IBConnection:
    row = IBConnection.objects.filter(name=name).first()
    if row is None:
        raise ConnectionProblem(UNKNOWN_NAME.format(name=name))
    return row


def connection_list(*, enabled: bool | None = None) -> list[IBConnection]:
    rows = IBConnection.objects.all()
    return list(rows if enabled is None else rows.filter(enabled=enabled))


def connection_default_fields() -> dict:
    """The `default` row as the environment defines it. No IB_HOST/IB_PORT means the embedded paper
    gateway (`up` starts it), shown as a blank host, exactly as `up` decides today."""
    return {
        "host": settings.IB_HOST if settings.IB_GATEWAY_CONFIGURED else "",
        "port": settings.IB_PORT,
        "client_id": settings.IB_CLIENT_ID,
        "mode": settings.TRADING_MODE,
        "accounts": [settings.IB_ACCOUNT] if settings.IB_ACCOUNT else [],
    }


def connection_default_sync() -> IBConnection:
    """Create the `default` row from the environment, or bring it in step (its `enabled` left alone).
    Writes only when something differs, so a worker refused by the lease has written nothing new."""
    fields = connection_default_fields()
    row = IBConnection.objects.filter(name=DEFAULT_CONNECTION).first()
    if row is not None and all(getattr(row, key) == value for key, value in fields.items()):
        return row
    clash = _endpoint_problems(
        host=fields["host"], port=fields["port"], client_id=fields["client_id"], exclude_name=DEFAULT_CONNECTION
    )
    if clash:
        endpoint = f"{fields['host'] or '127.0.0.1'}:{fields['port']} client id {fields['client_id']}"
        raise ConnectionProblem(DEFAULT_CLASH.format(endpoint=endpoint, problem=clash[0]))
    try:
        with transaction.atomic():
            row, _ = IBConnection.objects.update_or_create(name=DEFAULT_CONNECTION, defaults=fields)
    except IntegrityError:  # two processes starting at once: the other one wrote the same values
        row = IBConnection.objects.get(name=DEFAULT_CONNECTION)
    return row


def _accounts(accounts: list[str]) -> list[str]:
    seen: list[str] = []
    for account in accounts:
        for part in str(account).replace(",", " ").split():
            if part not in seen:
                seen.append(part)
    return seen


def accounts_parse(text: str) -> list[str]:
    """'DU1, DU2' or 'DU1 DU2' → ['DU1', 'DU2'] (the admin's text field)."""
    return _accounts([text])
