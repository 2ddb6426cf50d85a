"""Show and set the trading switches from a shell: `python manage.py switch [kill|resume|soft-stop on|off]`.

Switches are set, never toggled, so running a command twice is harmless. Every change goes through
`trading.config.switch_set` → `config_update`, so it is in the activity log with source "cli".
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from trading.config import switch_set, switch_state_line
from trading.models import ConfigScope, TradingConfig

SOURCE = "cli"
ACTIONS = ("kill", "resume", "soft-stop")
NEEDS_STATE = "soft-stop needs on or off: python manage.py switch soft-stop on|off [--scope …]"
NO_STATE = "{action} takes no on/off ({state!r}): use `switch kill` to stop and `switch resume` to resume"
NOTHING_CHANGED = "nothing changed: the switch already had that value"
ROW_VALUES = {
    "trading_enabled": {True: "allows trading", False: "STOPS trading", None: "no opinion"},
    "soft_stop": {True: "soft stop ON", False: "soft stop off", None: "no opinion"},
}


class Command(BaseCommand):
    help = (
        "Show the kill switch and soft stop of each settings row and what is in force, or set them: "
        "`switch kill [--scope common|paper|live]` (default common), `switch resume [--scope …]` (default: every "
        "row that stops trading for the active mode), `switch soft-stop on|off [--scope …]`."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", choices=ACTIONS, help="Leave out to show the switches.")
        parser.add_argument("state", nargs="?", choices=("on", "off"), help="For soft-stop: on or off.")
        parser.add_argument("--scope", choices=ConfigScope.values, help="The settings row to write.")

    def handle(self, *args, action, state, scope, **options):
        if action is None:
            if state is not None or scope is not None:
                raise CommandError("nothing to set: name an action (kill, resume, soft-stop on|off)")
        elif action == "soft-stop":
            if state is None:
                raise CommandError(NEEDS_STATE)
            self._set("soft_stop", state == "on", scope)
        elif state is not None:
            raise CommandError(NO_STATE.format(action=action, state=state))
        else:
            self._set("kill_switch", action == "kill", scope)
        self._show()

    def _set(self, switch: str, on: bool, scope: str | None) -> None:
        try:
            changes = switch_set(switch=switch, on=on, scope=scope, source=SOURCE)
        except (ValidationError, ValueError) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from None
        for change in changes:
            self.stdout.write(f"{change}.")
        if not changes:
            self.stdout.write(NOTHING_CHANGED)

    def _show(self) -> None:
        self.stdout.write(f"{'row':<8}{'kill switch':<18}soft stop")
        for row in TradingConfig.objects.order_by("pk"):
            kill, soft = ROW_VALUES["trading_enabled"][row.trading_enabled], ROW_VALUES["soft_stop"][row.soft_stop]
            mode = f"  (active mode: {row.active_mode})" if row.active_mode else ""
            self.stdout.write(f"{row.scope:<8}{kill:<18}{soft}{mode}")
        self.stdout.write(f"in force: {switch_state_line()}")
