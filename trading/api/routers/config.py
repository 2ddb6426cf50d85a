"""Trading settings: the effective values, and the two switches staff may flip from a script."""

from ninja import Router

from trading.api.auth import STAFF
from trading.api.responses import responses
from trading.api.schemas import ConfigOut, KillSwitchIn, SoftStopIn, SwitchOut
from trading.config import config_update, effective_config
from trading.models import TradingConfig

router = Router(tags=["config"])


@router.get(
    "/config", response=responses({200: ConfigOut}), summary="The settings in force (common overridden by the active mode)"
)
def config_get(request):
    return effective_config().as_dict()


@router.post(
    "/config/kill-switch",
    auth=STAFF,
    response=responses({200: SwitchOut}, 400),
    summary="Turn trading on or off (staff)",
    description="Recorded in the activity log with who did it. `effective` shows what is in force for the active mode.",
)
def kill_switch(request, body: KillSwitchIn):
    return _switch(request, body.scope, "trading_enabled", body.trading_enabled)


@router.post(
    "/config/soft-stop",
    auth=STAFF,
    response=responses({200: SwitchOut}, 400),
    summary="Reduce-only mode on or off (staff)",
    description="Recorded in the activity log with who did it. `effective` shows what is in force for the active mode.",
)
def soft_stop(request, body: SoftStopIn):
    return _switch(request, body.scope, "soft_stop", body.soft_stop)


def _switch(request, scope: str, field: str, value: bool) -> dict:
    row: TradingConfig = config_update(scope=scope, changes={field: value}, user=request.auth.user, source=request.auth.source)
    effective = effective_config()
    return {
        "scope": row.scope,
        "trading_enabled": row.trading_enabled,
        "soft_stop": row.soft_stop,
        "effective": effective.as_dict(),
        "masked_by": effective.mode if getattr(effective, field) != value else None,
    }
