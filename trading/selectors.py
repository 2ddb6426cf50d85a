"""Reads for the API (and anyone else): filtered querysets of the recorded state, newest first.

Everything here reads the database as the worker recorded it; nothing asks IB. Filters are
keyword-only and optional; a `day` is a calendar day in the display time zone (trading/clock.py), and a
`since`/`until` without an offset is read in that zone too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from django.db.models import Q, QuerySet
from django.utils import timezone

from trading.clock import day_bounds, display_zone, local_today
from trading.config import active_mode
from trading.models import (
    AccountValue,
    ActivityEntry,
    ApiToken,
    Fill,
    Holding,
    IBConnection,
    IntentRun,
    Order,
    OrderStatus,
    Position,
)
from trading.tokens import TOKEN_PREFIX
from trading.worker.health import heartbeat_state

TOKEN_PREFIX_LENGTH = 10  # trading.tokens keeps the plaintext's first 10 characters

OPEN = "open"  # order status filter: any status IB still works on
DONE = "done"  # order status filter: any final status


# Nothing is recorded outside these bounds; clamping to them keeps far-off dates (year 1, 9999) from
# overflowing when the database adapter converts them to UTC.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
NOTHING = Q(pk__in=[])


def _clamped(moment: datetime) -> datetime:
    """The moment within the bounds, in UTC: Python takes offsets up to ±23:59, PostgreSQL only up to
    ±15:59 (a larger one fails the query)."""
    aware = moment if timezone.is_aware(moment) else timezone.make_aware(moment, display_zone())
    return min(max(aware, EARLIEST), LATEST).astimezone(UTC)


def _between(field: str, *, day: date | None, since: datetime | None, until: datetime | None) -> Q:
    q = Q()
    if day is not None:
        if not EARLIEST.year <= day.year < LATEST.year:
            return NOTHING
        start, end = day_bounds(day)
        q &= Q(**{f"{field}__gte": start, f"{field}__lt": end})
    if since is not None:
        q &= Q(**{f"{field}__gte": _clamped(since)})
    if until is not None:
        q &= Q(**{f"{field}__lt": _clamped(until)})
    return q


def _in_mode(mode: str | None) -> Q:
    """Rows of `mode` (default: the active mode)."""
    return Q(mode=mode or active_mode())


def order_list(
    *,
    mode: str | None = None,
    status: str | None = None,
    strategy: str | None = None,
    symbol: str | None = None,
    run_id: int | None = None,
    day: date | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    account: str | None = None,
    connection: str | None = None,
) -> QuerySet[Order]:
    """Orders of a mode; `status` is an IB status, `open` or `done`; dates filter on creation."""
    orders = Order.objects.filter(_in_mode(mode), _between("created_at", day=day, since=since, until=until))
    if status == OPEN:
        orders = orders.filter(status__in=OrderStatus.open_values())
    elif status == DONE:
        orders = orders.filter(status__in=OrderStatus.done_values())
    elif status:
        orders = orders.filter(status=status)
    if strategy:
        orders = orders.filter(strategy=strategy)
    if symbol:
        orders = orders.filter(symbol__iexact=symbol)
    if run_id is not None:
        orders = orders.filter(run_id=run_id)
    if account:
        orders = orders.filter(account=account)
    if connection:
        orders = orders.filter(connection=connection)
    return orders


def fill_list(
    *,
    mode: str | None = None,
    strategy: str | None = None,
    symbol: str | None = None,
    run_id: int | None = None,
    day: date | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    account: str | None = None,
    connection: str | None = None,
) -> QuerySet[Fill]:
    """Executions of a mode, newest first; dates filter on the execution time."""
    fills = Fill.objects.filter(_in_mode(mode), _between("executed_at", day=day, since=since, until=until))
    if strategy:
        fills = fills.filter(strategy=strategy)
    if symbol:
        fills = fills.filter(symbol__iexact=symbol)
    if run_id is not None:
        fills = fills.filter(run_id=run_id)
    if account:
        fills = fills.filter(account=account)
    if connection:
        fills = fills.filter(connection=connection)
    return fills


def position_list(
    *, mode: str | None = None, account: str | None = None, symbol: str | None = None, connection: str | None = None
) -> QuerySet[Position]:
    """The latest non-flat position per connection, account and contract."""
    positions = Position.objects.filter(_in_mode(mode)).exclude(quantity=0)
    if account:
        positions = positions.filter(account=account)
    if connection:
        positions = positions.filter(connection=connection)
    if symbol:
        positions = positions.filter(symbol__iexact=symbol)
    return positions


def holding_quantities(*, mode: str, account: str = "", strategies: list[str] | None = None) -> dict[str, dict[int, Decimal]]:
    """What each strategy holds in one account: {strategy: {con_id: quantity}}, flat ones left out.

    The account's rows count, and so do rows of no account: those were recorded before holdings were
    kept per account (a console of one account); a blank `account` counts every account's."""
    rows = Holding.objects.filter(mode=mode)
    if account:
        rows = rows.filter(account__in=[account, ""])
    if strategies is not None:
        rows = rows.filter(strategy__in=strategies)
    held: dict[str, dict[int, Decimal]] = {}
    for strategy, con_id, quantity in rows.values_list("strategy", "con_id", "quantity"):
        by_contract = held.setdefault(strategy, {})
        by_contract[con_id] = by_contract.get(con_id, Decimal(0)) + quantity
    return {
        strategy: {con_id: quantity for con_id, quantity in by_contract.items() if quantity}
        for strategy, by_contract in held.items()
    }


def account_value_list(*, mode: str | None = None, account: str | None = None) -> QuerySet[AccountValue]:
    values = AccountValue.objects.filter(_in_mode(mode))
    return values.filter(account=account) if account else values


def activity_list(
    *,
    mode: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
    strategy: str | None = None,
    run_id: int | None = None,
    day: date | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    account: str | None = None,
    connection: str | None = None,
) -> QuerySet[ActivityEntry]:
    """The activity log, newest first; `mode` also keeps entries that belong to no mode (settings, worker)."""
    entries = ActivityEntry.objects.select_related("actor").filter(_between("created_at", day=day, since=since, until=until))
    if mode:
        entries = entries.filter(Q(mode=mode) | Q(mode=""))
    if kind:
        entries = entries.filter(kind=kind)
    if severity:
        entries = entries.filter(severity=severity)
    if strategy:
        entries = entries.filter(strategy=strategy)
    if run_id is not None:
        entries = entries.filter(run_id=run_id)
    if account:
        entries = entries.filter(account=account)
    if connection:
        entries = entries.filter(connection=connection)
    return entries


def run_list(
    *,
    intent: str | None = None,
    account: str | None = None,
    status: str | None = None,
    source: str | None = None,
    day: date | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[IntentRun]:
    """Intent runs, newest first; dates filter on submission."""
    runs = IntentRun.objects.select_related("requested_by").filter(_between("created_at", day=day, since=since, until=until))
    if intent:
        runs = runs.filter(intent=intent)
    if account:
        runs = runs.filter(account=account)
    if status:
        runs = runs.filter(status=status)
    if source:
        runs = runs.filter(source=source)
    return runs


def run_find(run_id: int) -> IntentRun | None:
    return IntentRun.objects.select_related("requested_by").filter(pk=run_id).first()


# reqPnL's figures, recorded by the worker (trading.worker.pnl) as account values of these tags
PNL_TAGS = {"daily_pnl": "PnL.Daily", "unrealized_pnl": "PnL.Unrealized", "realized_pnl": "PnL.Realized"}
PNL_CURRENCY = "BASE"


def pnl_list(*, mode: str | None = None, account: str | None = None) -> list[dict]:
    """Each account's P&L as IB's reqPnL last pushed it, and when (`at`), in account order."""
    rows = account_value_list(mode=mode or active_mode(), account=account).filter(
        tag__in=PNL_TAGS.values(), currency=PNL_CURRENCY
    )
    by_account: dict[str, dict] = {}
    for row in rows.order_by("account"):
        by_account.setdefault(row.account, {})[row.tag] = row
    return [
        {
            "account": name,
            **{field: tags[tag].value if tag in tags else None for field, tag in PNL_TAGS.items()},
            "at": max(row.updated_at for row in tags.values()),
        }
        for name, tags in by_account.items()
    ]


def pnl_latest(*, mode: str | None = None, account: str | None = None) -> dict | None:
    """The P&L as IB's reqPnL last pushed it, and when (`at`); None before the first push.

    The one source of account P&L for the dashboard's card and the API; the positions' P&L is on their
    rows (reqPnLSingle). One account: its figures. No `account` and several recorded: their sum
    (`account` "", `accounts` naming them; reqPnL is in each account's base currency, so the sum
    assumes one base currency, which a desk's accounts share), `at` the oldest push of them."""
    per_account = pnl_list(mode=mode, account=account)
    if len(per_account) <= 1:
        return per_account[0] if per_account else None
    total = {"account": "", "accounts": [p["account"] for p in per_account], "at": min(p["at"] for p in per_account)}
    for field in PNL_TAGS:
        values = [p[field] for p in per_account if p[field] is not None]
        total[field] = _decimal_sum(values) if values else None
    return total


def _decimal_sum(values: list[str]) -> str:
    try:
        return str(sum((Decimal(str(v)) for v in values), Decimal(0)))
    except InvalidOperation:
        return ""


def accounts_known(*, mode: str | None = None) -> list[str]:
    """The accounts of a mode, for the dashboard's selector: those with recorded account values or
    positions, and those a run may name (trading.intents.runs.accounts_known) on a connection of this mode."""
    from trading.intents.runs import accounts_known as run_accounts

    mode = mode or active_mode()
    names = set(AccountValue.objects.filter(mode=mode).values_list("account", flat=True).distinct())
    names |= set(Position.objects.filter(mode=mode).values_list("account", flat=True).distinct())
    routable = run_accounts()
    modes = dict(IBConnection.objects.filter(name__in=set(routable.values())).values_list("name", "mode"))
    names |= {account for account, connection in routable.items() if modes.get(connection) == mode}
    return sorted(name for name in names if name)


def summary_latest(*, mode: str | None = None) -> dict:
    """The account as last recorded: account values, positions, open orders, today's fills, worker state.

    Built from the database (what the worker recorded), never a new IB round trip; `as_of` is the newest
    account-value update, so a caller can tell stale numbers from fresh ones.
    """
    mode = mode or active_mode()
    values = list(account_value_list(mode=mode))
    worker = heartbeat_state()
    return {
        "mode": mode,
        "as_of": max((v.updated_at for v in values), default=None),
        "accounts": sorted({v.account for v in values}),
        "account_values": [v for v in values if v.tag not in PNL_TAGS.values()],
        "pnl": pnl_latest(mode=mode),
        "positions": list(position_list(mode=mode)),
        "open_orders": list(order_list(mode=mode, status=OPEN)),
        "fills_today": list(fill_list(mode=mode, day=local_today())),
        "worker_alive": worker["alive"],
        "worker_connected": worker["connected"],
    }


def token_list(*, username: str | None = None, include_revoked: bool = False) -> QuerySet[ApiToken]:
    tokens = ApiToken.objects.select_related("user")
    if username:
        tokens = tokens.filter(user__username=username)
    return tokens if include_revoked else tokens.filter(revoked_at__isnull=True)


def token_match(ref: str) -> list[ApiToken]:
    """Tokens a person means by `ref`: a numeric id, or the start of the shown prefix (`ibc_AbC…`)."""
    ref = ref.strip().rstrip("…")
    tokens = ApiToken.objects.select_related("user")
    if ref.isdigit():
        return list(tokens.filter(pk=int(ref)))
    if len(ref) <= len(TOKEN_PREFIX):
        return []  # every token starts with the common prefix: that names none of them
    return list(tokens.filter(prefix__startswith=ref[:TOKEN_PREFIX_LENGTH]))
