"""Effective trading settings, read fresh: ordinary settings override, switches combine.

Two kinds of setting live on the same rows (common, paper, live, and one row per account):

- **Ordinary settings** (exposure, limits, order defaults, …): the mode's non-null value overrides
  common's. The mode is the one of the connection that trades (a worker passes its own; the console's
  active mode is only the default, for the dashboard's view), so paper and live connections run side by side.
- **Switches** are never overridden — a stop anywhere stops:
  - trading is allowed only when the common row AND the mode's row AND the account's row allow it
    (`trading_enabled`); a blank (None) value in a mode or account row means "no opinion";
  - soft stop (reduce-only) is on when ANY of them says so.
  A blank in the common row is refused by validation; should one appear anyway it reads as "stop".
  `EffectiveConfig.kill_switch_by` / `soft_stop_by` name the rows that hold each switch (`common`,
  `paper`, `live`, `account DU2`), so every surface (admin, API, dashboard, `manage.py switch`) shows
  the switch in force and who holds it.
- **Account limits** (max order quantity and notional, allowed symbols, daily loss limit, max gross
  exposure) only tighten: the smaller of the mode's and the account's (for allowed symbols: those both
  allow). An account row sets nothing else.

Switches are set, never toggled: every surface writes an explicit value through `config_update`, so
repeating a request is harmless (an unchanged value records nothing).

Read fresh on every call (the seed read config once at start, so a kill switch flipped in the admin
was ignored until a restart). Callers that place orders call `effective_config()` at the moment of the
order; nothing caches it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from dataclasses import field as dataclass_field
from dataclasses import fields as dataclass_fields
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from trading.activity import activity_record
from trading.clock import display_zone_forget
from trading.dbreads import ModelRead
from trading.models import ActivityEntry, ActivityKind, ConfigScope, TradingConfig, TradingMode
from trading.models.config import (
    ACCOUNT_FIELDS,
    ACCOUNT_LIMIT_FIELDS,
    COMMON_ONLY_FIELDS,
    OVERRIDABLE_FIELDS,
    UNKNOWN_ACCOUNT,
    known_accounts,
    parse_symbol_list,
)

MISSING_COMMON = "the common trading settings row is missing: run `python manage.py migrate`"
UNKNOWN_MODE = "unknown trading mode {mode!r}: use one of {choices}"
NOT_A_FIELD = "{field!r} is not a trading setting"
# The permission that changes settings, switches included, on every surface (admin, API, dashboard).
CHANGE_SETTINGS = "trading.change_tradingconfig"
UNKNOWN_SWITCH = "unknown switch {switch!r}: use kill_switch or soft_stop"
ACCOUNT_NEEDED = "the account scope needs an account: name it (--account DU…, \"account\": \"DU…\")"
ACCOUNT_WITH_SCOPE = "an account is set on its own row: use scope account (or leave the scope out), not {scope!r}"
NOT_AN_ACCOUNT_FIELD = "{field!r} is not an account setting: an account row sets only {fields}"
ACCOUNT_LABEL = "account {account}"

# switch name: (settings field, the field's value that engages the switch, label)
SWITCHES = {
    "kill_switch": ("trading_enabled", False, "the kill switch"),
    "soft_stop": ("soft_stop", True, "soft stop"),
}
SWITCH_FIELDS = tuple(field_name for field_name, _, _ in SWITCHES.values())
# What a freshly migrated database holds (migration 0002): demo may only enable trading on such a one.
SEEDED_SWITCHES = {
    ConfigScope.COMMON: {"trading_enabled": False, "soft_stop": False},
    ConfigScope.PAPER: {"trading_enabled": None, "soft_stop": None},
}
STATE_STOPPED = "trading is stopped by the {rows} (kill switch)"
STATE_SOFT = "{mode} mode trades reduce-only{account}: soft stop held by the {rows}"
STATE_ON = "trading is on in {mode} mode (no kill switch, no soft stop)"
HINT_RESUME = "resume with: python manage.py switch resume{scope}"

HINT_SOFT_OFF = "lift with: python manage.py switch soft-stop off{scope}"
# What a switch row now says, in words: field: {value: sentence}; {where} names the row.
SWITCH_NOW = {
    "trading_enabled": {
        True: "Trading is now enabled {where}",
        False: "Trading is now stopped {where}: kill switch on",
        None: "The kill switch {where} now follows the common settings",
    },
    "soft_stop": {
        True: "Soft stop is now on {where}: reduce-only",
        False: "Soft stop is now off {where}",
        None: "Soft stop {where} now follows the common settings",
    },
}
SCOPE_WHERE = {
    ConfigScope.COMMON: "in the common settings (all modes)",
    ConfigScope.PAPER: "for paper",
    ConfigScope.LIVE: "for live",
}


class ConfigMissing(LookupError):
    pass


@dataclass(frozen=True)
class EffectiveConfig:
    mode: str
    trading_enabled: bool
    soft_stop: bool
    market_data_type: int
    account: str
    overall_exposure: Decimal
    default_order_type: str
    default_tif: str
    limit_offset_bps: Decimal
    max_order_quantity: int | None
    max_order_notional: Decimal | None
    allowed_symbols: list[str] | None
    daily_loss_limit: Decimal | None
    max_gross_exposure: Decimal | None
    cash_balancer_threshold: Decimal
    enforce_flat_eod: bool
    flatten_unowned_positions: bool
    what_if_check: bool
    dry_run_default: bool
    cancel_foreign_orders: bool
    # Common only: the IANA zone people read times in (trading/clock.py reads it for every surface).
    display_time_zone: str = ""
    # The rows (scopes, common first) whose own value engages each switch for this mode.
    kill_switch_by: list[str] = dataclass_field(default_factory=list)
    soft_stop_by: list[str] = dataclass_field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-friendly: decimals as strings so no precision is lost."""
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> EffectiveConfig:
        """`as_dict`'s inverse: its decimals back from their strings."""
        return cls(**{k: Decimal(v) if k in _DECIMAL_FIELDS and v is not None else v for k, v in values.items()})

    def symbol_allowed(self, symbol: str) -> bool:
        return self.allowed_symbols is None or symbol.upper() in self.allowed_symbols


_DECIMAL_FIELDS = frozenset(f.name for f in dataclass_fields(EffectiveConfig) if "Decimal" in str(f.type))


# Every settings row, or every row but other accounts' (TradingConfig.objects.filter(~Q(scope=ACCOUNT) |
# Q(account=…))), with the SQL written once: read for every submission and every order (trading/dbreads.py).
_ROWS_ALL = ModelRead(TradingConfig, where="1 = 1")
_ROWS_OF_ACCOUNT = ModelRead(TradingConfig, where="NOT (t.scope = %s) OR t.account = %s")


def effective_config(mode: str | None = None, account: str | None = None) -> EffectiveConfig:
    """The settings in force for `mode` (default: the active mode) and `account` (default: the account
    the settings name), read from the database now in one query."""
    query = _ROWS_OF_ACCOUNT([ConfigScope.ACCOUNT, account]) if account else _ROWS_ALL([])
    rows, accounts = {}, {}
    for row in query:
        if row.scope == ConfigScope.ACCOUNT:
            accounts[row.account] = row
        else:
            rows[row.scope] = row
    common = rows.get(ConfigScope.COMMON)
    if common is None:
        raise ConfigMissing(MISSING_COMMON)
    mode = mode or common.active_mode or TradingMode.PAPER
    if mode not in TradingMode.values:
        raise ValueError(UNKNOWN_MODE.format(mode=mode, choices=", ".join(TradingMode.values)))
    override = rows.get(mode)
    values = {}
    for name in OVERRIDABLE_FIELDS:
        value = getattr(override, name, None) if override is not None else None
        values[name] = value if value is not None else getattr(common, name)
    values["allowed_symbols"] = parse_symbol_list(values["allowed_symbols"])
    values["account"] = account or values["account"] or ""
    own = accounts.get(values["account"]) if values["account"] else None
    if own is not None:  # the account's limits only tighten the mode's
        for name in ACCOUNT_LIMIT_FIELDS:
            theirs = getattr(own, name)
            theirs = parse_symbol_list(theirs) if name == "allowed_symbols" else theirs
            values[name] = _tighter(values[name], theirs)
    # Switches combine instead: a stop in any row stops (see the module docstring).
    kill_switch_by = _holders(common, (override, own), "trading_enabled", engaged=False)
    soft_stop_by = _holders(common, (override, own), "soft_stop", engaged=True)
    values["display_time_zone"] = common.display_time_zone or settings.DISPLAY_TIME_ZONE
    values["trading_enabled"] = not kill_switch_by
    values["soft_stop"] = bool(soft_stop_by)
    return EffectiveConfig(mode=mode, kill_switch_by=kill_switch_by, soft_stop_by=soft_stop_by, **values)


def _holders(common: TradingConfig, others: tuple, field_name: str, *, engaged: bool) -> list[str]:
    """The rows (labels) that engage a switch. Common must have a value, so a blank there engages it."""
    holders = [common.label] if getattr(common, field_name) in (engaged, None) else []
    holders.extend(row.label for row in others if row is not None and getattr(row, field_name) is engaged)
    return holders


def _tighter(mine, theirs):
    """The stricter of two limits, None being "no limit"; for symbol lists, the symbols both allow."""
    if theirs is None:
        return mine
    if mine is None:
        return theirs
    if isinstance(mine, list):
        return [symbol for symbol in mine if symbol in theirs]
    return min(mine, theirs)


def holder_row(holder: str) -> tuple[str, str | None]:
    """`account DU2` -> ("account", "DU2"); `paper` -> ("paper", None): the row a holder label names."""
    if holder.startswith("account "):
        return ConfigScope.ACCOUNT, holder.removeprefix("account ")
    return holder, None


def account_check(account: str) -> None:
    """ValueError with the known accounts unless an IB connection (or IB_ACCOUNT) lists `account`."""
    known = known_accounts()
    if account not in known:
        raise ValueError(UNKNOWN_ACCOUNT.format(account=account, known=", ".join(known) or "none"))


def active_mode() -> str:
    common = TradingConfig.objects.filter(scope=ConfigScope.COMMON).values_list("active_mode", flat=True).first()
    return common or TradingMode.PAPER


def _describe(value) -> object:
    """JSON-friendly and stable: Decimal('0.9000') and Decimal('0.90') both read '0.9'."""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else value


@transaction.atomic
def config_update(
    *, scope: str, changes: dict, user=None, source: str = "code", account: str | None = None
) -> TradingConfig:
    """Validate and save changes to one row's settings, with an activity entry naming who did it.

    Scope `account` names its row by `account` (created on first write; the account must be one an IB
    connection lists). Raises ValueError for an unknown scope, account or field and django's
    ValidationError (naming the field) for an invalid value; either way nothing is saved.
    """
    if scope not in ConfigScope.values:
        raise ValueError(UNKNOWN_MODE.format(mode=scope, choices=", ".join(ConfigScope.values)))
    if scope == ConfigScope.ACCOUNT:
        if not account:
            raise ValueError(ACCOUNT_NEEDED)
        config = TradingConfig.objects.select_for_update().filter(scope=scope, account=account).first()
        if config is None:  # a new row must name a listed account; an existing one stays writable
            account_check(account)
            config = TradingConfig(scope=scope, account=account)
        allowed = ACCOUNT_FIELDS
    else:
        if account:
            raise ValueError(ACCOUNT_WITH_SCOPE.format(scope=scope))
        config = TradingConfig.objects.select_for_update().get(scope=scope)
        allowed = (*OVERRIDABLE_FIELDS, *COMMON_ONLY_FIELDS)
    before = {}
    for field, value in changes.items():
        if field not in (*OVERRIDABLE_FIELDS, *COMMON_ONLY_FIELDS):
            raise ValueError(NOT_A_FIELD.format(field=field))
        if field not in allowed:
            raise ValueError(NOT_AN_ACCOUNT_FIELD.format(field=field, fields=", ".join(ACCOUNT_FIELDS)))
        before[field] = getattr(config, field)
        setattr(config, field, value)
    config.updated_by = user if getattr(user, "is_authenticated", False) else None
    config.full_clean()
    config.save()
    if "display_time_zone" in changes:
        display_zone_forget()
    config_change_record(config=config, before=before, user=user, source=source)
    return config


def config_event() -> dict:
    """The live `config.update` event: what is in force now, for the dashboard's status bar."""
    from trading.live import live_event

    config = effective_config()
    return live_event("config.update", {**switch_status(config), "dry_run_default": config.dry_run_default}, mode=config.mode)


def switch_status(config: EffectiveConfig) -> dict:
    """The switches in force for `config.mode` and the rows holding them, with the one-line summary."""
    return {
        "mode": config.mode,
        "account": config.account,
        "trading_enabled": config.trading_enabled,
        "kill_switch": not config.trading_enabled,
        "kill_switch_by": config.kill_switch_by,
        "soft_stop": config.soft_stop,
        "soft_stop_by": config.soft_stop_by,
        "switches": switches_describe(config),
    }


def config_publish() -> None:
    """Push the settings now in force to every dashboard (best effort: a page also polls every 5 s)."""
    import logging

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from trading.live import channel_message, live_group

    try:
        async_to_sync(get_channel_layer().group_send)(live_group(), channel_message(config_event()))
    except Exception as exc:
        logging.getLogger("trading.config").warning("config change not pushed live: %s: %s", type(exc).__name__, exc)


def config_change_record(*, config: TradingConfig, before: dict, user=None, source: str) -> None:
    """The activity entry for a settings change: field, old and new value, who and from where."""
    changed = {
        field: {"from": _describe(old), "to": _describe(getattr(config, field))}
        for field, old in before.items()
        if old != getattr(config, field)
    }
    if not changed:
        return
    transaction.on_commit(config_publish)  # admin and API flips show on open dashboards at once
    who = getattr(user, "username", None) or "system"
    summary = ", ".join(f"{_field_label(f)}: {_value_words(c['from'])} → {_value_words(c['to'])}" for f, c in changed.items())
    activity_record(
        kind=ActivityKind.CONFIG_CHANGE,
        message=f"{who} changed {config.label} settings ({summary})",
        mode=config.scope if config.scope in TradingMode.values else "",
        actor=user if getattr(user, "is_authenticated", False) else None,
        payload={
            "scope": config.scope,
            **({"account": config.account} if config.scope == ConfigScope.ACCOUNT else {}),
            "changes": changed,
            "source": source,
        },
    )


def _field_label(name: str) -> str:
    return str(TradingConfig._meta.get_field(name).verbose_name)


def _value_words(value) -> object:
    return {True: "yes", False: "no", None: "no opinion"}.get(value, value) if value in (True, False, None) else value


# ----- switches: set (never toggled), described, and the demo's "just created" test ---------------------


@dataclass(frozen=True)
class SwitchChange:
    scope: str
    field: str
    before: bool | None
    after: bool | None
    account: str | None = None

    def __str__(self) -> str:
        return switch_now_text(scope=self.scope, field=self.field, value=self.after, account=self.account)

    @property
    def label(self) -> str:
        return ACCOUNT_LABEL.format(account=self.account) if self.scope == ConfigScope.ACCOUNT else self.scope


def switch_now_text(*, scope: str, field: str, value: bool | None, account: str | None = None) -> str:
    """`Trading is now enabled for paper`: what setting one switch on one row did, for people."""
    where = f"for account {account}" if scope == ConfigScope.ACCOUNT else SCOPE_WHERE.get(scope, f"for {scope}")
    return SWITCH_NOW[field][value].format(where=where)


def switch_holders(config: EffectiveConfig, switch: str) -> list[str]:
    """The scopes that hold `switch` (kill_switch or soft_stop) for the config's mode."""
    if switch not in SWITCHES:
        raise ValueError(UNKNOWN_SWITCH.format(switch=switch))
    return config.kill_switch_by if switch == "kill_switch" else config.soft_stop_by


@transaction.atomic
def switch_set(
    *, switch: str, on: bool, scope: str | None = None, account: str | None = None, user=None, source: str
) -> list[SwitchChange]:
    """Engage (`on`) or release a switch, writing explicit values; returns the rows that changed.

    `account` (scope account or none) writes that account's row, created on first use. Otherwise
    engaging writes `scope`, by default common (the strongest stop: it holds in every mode), and
    releasing writes `scope`, by default every row that holds the switch for the active mode (its
    account's row included), so what is in force is released. A repeat changes nothing and records nothing.
    """
    if switch not in SWITCHES or not isinstance(on, bool):
        raise ValueError(UNKNOWN_SWITCH.format(switch=switch))
    field_name, engaged, _label = SWITCHES[switch]
    value = engaged if on else not engaged
    if account:
        if scope not in (None, ConfigScope.ACCOUNT):
            raise ValueError(ACCOUNT_WITH_SCOPE.format(scope=scope))
        targets = [(ConfigScope.ACCOUNT, account)]
    elif scope is not None:
        targets = [(scope, None)]
    else:
        holders = [ConfigScope.COMMON] if on else switch_holders(effective_config(), switch)
        targets = [holder_row(holder) for holder in holders]
    changes = []
    for target, target_account in targets:
        rows = TradingConfig.objects.filter(scope=target)
        rows = rows.filter(account=target_account) if target == ConfigScope.ACCOUNT else rows
        before = rows.values_list(field_name, flat=True).first()
        config_update(scope=target, account=target_account, changes={field_name: value}, user=user, source=source)
        if before != value:
            changes.append(SwitchChange(scope=target, field=field_name, before=before, after=value, account=target_account))
    return changes


def switches_describe(config: EffectiveConfig) -> str:
    """One line: what stops or limits trading for the config's mode, and which row holds it."""
    if config.kill_switch_by:
        return STATE_STOPPED.format(rows=_rows(config.kill_switch_by))
    if config.soft_stop_by:
        account = f" for account {config.account}" if any(h.startswith("account ") for h in config.soft_stop_by) else ""
        return STATE_SOFT.format(mode=config.mode, account=account, rows=_rows(config.soft_stop_by))
    return STATE_ON.format(mode=config.mode)


def switch_state_line(mode: str | None = None, account: str | None = None) -> str:
    """`switches_describe` with the command that lifts the stop, for `up` and demo mode to print."""
    config = effective_config(mode, account)
    line = switches_describe(config)
    if config.kill_switch_by:
        return f"{line}; {HINT_RESUME.format(scope=_scope_option(config.kill_switch_by))}"
    if config.soft_stop_by:
        return f"{line}; {HINT_SOFT_OFF.format(scope=_scope_option(config.soft_stop_by))}"
    return line


def config_untouched() -> bool:
    """True only for a database nobody has configured: no settings change was ever recorded, no row
    names who last changed it, and the switches still hold the values the migration seeded."""
    if ActivityEntry.objects.filter(kind=ActivityKind.CONFIG_CHANGE).exists():
        return False
    if TradingConfig.objects.exclude(updated_by=None).exists():
        return False
    if TradingConfig.objects.filter(scope=ConfigScope.ACCOUNT).exists():
        return False
    rows = {row.scope: row for row in TradingConfig.objects.filter(scope__in=list(SEEDED_SWITCHES))}
    return all(
        scope in rows and all(getattr(rows[scope], name) == value for name, value in seeded.items())
        for scope, seeded in SEEDED_SWITCHES.items()
    )


def _rows(scopes: list[str]) -> str:
    return f"{' and '.join(scopes)} settings"


def _scope_option(scopes: list[str]) -> str:
    # One row: name it; several: the default (every row that holds the switch) releases them all.
    if len(scopes) != 1:
        return ""
    scope, account = holder_row(scopes[0])
    return f" --account {account}" if account else f" --scope {scope}"
