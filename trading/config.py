"""Effective trading settings: common values overridden by the active mode's non-null values.

Read fresh on every call (the seed read config once at start, so a kill switch flipped in the admin
was ignored until a restart). Callers that place orders call `effective_config()` at the moment of the
order; nothing caches it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db import transaction

from trading.activity import activity_record
from trading.models import ActivityKind, ConfigScope, TradingConfig, TradingMode
from trading.models.config import OVERRIDABLE_FIELDS, parse_symbol_list

MISSING_COMMON = "the common trading settings row is missing: run `python manage.py migrate`"
UNKNOWN_MODE = "unknown trading mode {mode!r}: use one of {choices}"
NOT_A_FIELD = "{field!r} is not a trading setting"


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

    def as_dict(self) -> dict:
        """JSON-friendly: decimals as strings so no precision is lost."""
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}

    def symbol_allowed(self, symbol: str) -> bool:
        return self.allowed_symbols is None or symbol.upper() in self.allowed_symbols


def effective_config(mode: str | None = None) -> EffectiveConfig:
    """The settings in force for `mode` (default: the active mode), read from the database now."""
    rows = {row.scope: row for row in TradingConfig.objects.all()}
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
    values["account"] = values["account"] or ""
    return EffectiveConfig(mode=mode, **values)


def active_mode() -> str:
    common = TradingConfig.objects.filter(scope=ConfigScope.COMMON).values_list("active_mode", flat=True).first()
    return common or TradingMode.PAPER


def _describe(value) -> object:
    """JSON-friendly and stable: Decimal('0.9000') and Decimal('0.90') both read '0.9'."""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else value


@transaction.atomic
def config_update(*, scope: str, changes: dict, user=None, source: str = "code") -> TradingConfig:
    """Validate and save changes to one scope's settings, with an activity entry naming who did it.

    Raises django's ValidationError (naming the field) and saves nothing when a value is invalid.
    """
    if scope not in ConfigScope.values:
        raise ValueError(UNKNOWN_MODE.format(mode=scope, choices=", ".join(ConfigScope.values)))
    config = TradingConfig.objects.select_for_update().get(scope=scope)
    before = {}
    for field, value in changes.items():
        if field not in (*OVERRIDABLE_FIELDS, "active_mode"):
            raise ValueError(NOT_A_FIELD.format(field=field))
        before[field] = getattr(config, field)
        setattr(config, field, value)
    config.updated_by = user if getattr(user, "is_authenticated", False) else None
    config.full_clean()
    config.save()
    config_change_record(config=config, before=before, user=user, source=source)
    return config


def config_event() -> dict:
    """The live `config.update` event: what is in force now, for the dashboard's status bar."""
    from trading.live import live_event

    config = effective_config()
    payload = {
        "mode": config.mode,
        "trading_enabled": config.trading_enabled,
        "kill_switch": not config.trading_enabled,
        "soft_stop": config.soft_stop,
        "dry_run_default": config.dry_run_default,
    }
    return live_event("config.update", payload, mode=config.mode)


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
    summary = ", ".join(f"{f}: {c['from']} → {c['to']}" for f, c in changed.items())
    activity_record(
        kind=ActivityKind.CONFIG_CHANGE,
        message=f"{who} changed {config.scope} settings ({summary})",
        mode="" if config.scope == ConfigScope.COMMON else config.scope,
        actor=user if getattr(user, "is_authenticated", False) else None,
        payload={"scope": config.scope, "changes": changed, "source": source},
    )
