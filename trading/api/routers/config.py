"""Trading settings: the effective values, and the two switches that may be set from a script.

Switches are set, never toggled: the body names the value, so a repeat is harmless. The answer says
what is in force for the active mode and which row(s) hold each switch — a stop anywhere stops, so a
stop is always in force, while a resume may not be (another row still stops trading) and says so.
"""

from ninja import Router

from trading.api.auth import SETTINGS_CHANGE
from trading.api.errors import ApiError
from trading.api.responses import responses
from trading.api.schemas import ConfigOut, DisplayTimeZoneIn, KillSwitchIn, SoftStopIn, SwitchOut
from trading.config import SWITCHES, account_check, config_update, effective_config, switch_set, switches_describe
from trading.models import ConfigScope, TradingConfig

UNKNOWN_ACCOUNT_CODE = "unknown_account"
BAD_SWITCH_ROW = "bad_request"

router = Router(tags=["config"])

WRITTEN = {
    ("kill_switch", True): "{scope} settings now stop trading",
    ("kill_switch", False): "{scope} settings now allow trading",
    ("soft_stop", True): "{scope} settings now hold soft stop",
    ("soft_stop", False): "{scope} settings no longer hold soft stop",
}
ACCOUNT_QUERY = "Show what is in force for this IB account (its row's switches and tighter limits included)."
IN_FORCE = "{written}; in force for {mode} mode: {state}"
NOT_IN_FORCE = "{written}, but {state}"
NOT_ACTIVE = "{written}, but {scope} is not the active mode: {state}"
SWITCH_DESCRIPTION = (
    "Needs a staff user with the `trading.change_tradingconfig` permission. Recorded in the activity log "
    "with who did it. `kill_switch_by`/`soft_stop_by` name the rows holding each switch for the active mode; "
    "`in_force` is false when what was asked is not what is in force (and `message` says why)."
)


@router.get(
    "/config",
    response=responses({200: ConfigOut}, 400),
    summary="The settings in force (ordinary settings: the mode overrides common; switches: a stop anywhere stops)",
    description=f"`?account=DU…`: {ACCOUNT_QUERY} An unknown account is a 400.",
)
def config_get(request, account: str | None = None):
    if account:
        _account_known(account)
    return effective_config(account=account or None).as_dict()


@router.post(
    "/config/kill-switch",
    auth=SETTINGS_CHANGE,
    response=responses({200: SwitchOut}, 400),
    summary="Stop or allow trading on one row (staff with the settings permission)",
    description=SWITCH_DESCRIPTION,
)
def kill_switch(request, body: KillSwitchIn):
    return _switch(request, body.scope, body.account, "kill_switch", not body.trading_enabled)


@router.post(
    "/config/soft-stop",
    auth=SETTINGS_CHANGE,
    response=responses({200: SwitchOut}, 400),
    summary="Reduce-only mode on or off on one row (staff with the settings permission)",
    description=SWITCH_DESCRIPTION,
)
def soft_stop(request, body: SoftStopIn):
    return _switch(request, body.scope, body.account, "soft_stop", body.soft_stop)


@router.post(
    "/config/display-time-zone",
    auth=SETTINGS_CHANGE,
    response=responses({200: ConfigOut}, 400),
    summary="Set the display time zone (common settings; staff with the settings permission)",
    description="Every surface shows times in this zone and the `day` filters cut calendar days by it; storage "
    "stays UTC. A name that is not an IANA zone is refused with 422 and changes nothing.",
)
def display_time_zone(request, body: DisplayTimeZoneIn):
    config_update(
        scope=ConfigScope.COMMON, changes={"display_time_zone": body.display_time_zone},
        user=request.auth.user, source=request.auth.source,
    )  # fmt: skip
    return effective_config().as_dict()


def _account_known(account: str) -> None:
    if TradingConfig.objects.filter(scope=ConfigScope.ACCOUNT, account=account).exists():
        return  # its row holds whether or not a connection still lists it, so it may be shown and released
    try:
        account_check(account)
    except ValueError as exc:
        raise ApiError(str(exc), status=400, code=UNKNOWN_ACCOUNT_CODE) from None


def _switch(request, scope: str | None, account: str | None, switch: str, on: bool) -> dict:
    if account:
        _account_known(account)
    scope = scope or (ConfigScope.ACCOUNT if account else ConfigScope.COMMON)
    try:
        switch_set(switch=switch, on=on, scope=scope, account=account, user=request.auth.user, source=request.auth.source)
    except ValueError as exc:  # an account row without its account, or an account with another scope
        raise ApiError(str(exc), status=400, code=BAD_SWITCH_ROW) from None
    rows = TradingConfig.objects.filter(scope=scope)
    row = (rows.filter(account=account) if scope == ConfigScope.ACCOUNT else rows).get()
    effective = effective_config(account=account)
    field_name, engaged, _label = SWITCHES[switch]
    in_force = (getattr(effective, field_name) == engaged) == on
    written = WRITTEN[switch, on].format(scope=row.label)
    state = switches_describe(effective)
    if in_force:
        message = IN_FORCE.format(written=written, mode=effective.mode, state=state)
    elif scope not in (ConfigScope.COMMON, ConfigScope.ACCOUNT, effective.mode):
        message = NOT_ACTIVE.format(written=written, scope=scope, state=state)
    else:
        message = NOT_IN_FORCE.format(written=written, state=state)
    return {
        "scope": row.scope,
        "account": row.account if row.scope == ConfigScope.ACCOUNT else None,
        "trading_enabled": row.trading_enabled,
        "soft_stop": row.soft_stop,
        "effective": effective.as_dict(),
        "kill_switch_by": effective.kill_switch_by,
        "soft_stop_by": effective.soft_stop_by,
        "in_force": in_force,
        "message": message,
    }
