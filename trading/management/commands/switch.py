"""Show and set the trading switches from a shell: `python manage.py switch [kill|resume|soft-stop on|off]`.

`--account DU2` sets (or shows) that IB account's own row: a stop there stops that account only.

Switches are set, never toggled, so running a command twice is harmless. Every change goes through
`trading.config.switch_set` → `config_update`, so it is in the activity log with source "cli".
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from trading.config import account_check, switch_set, switch_state_line
from trading.models import ConfigScope, TradingConfig

SOURCE = "cli"
ACTIONS = ("kill", "resume", "soft-stop")
NEEDS_STATE = "soft-stop needs on or off: python manage.py switch soft-stop on|off [--scope …|--account …]"
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
        "row that stops trading for the active mode), `switch soft-stop on|off [--scope …]`; "
        "`--account DU…` writes (or shows) that IB account's own row instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", choices=ACTIONS, help="Leave out to show the switches.")
        parser.add_argument("state", nargs="?", choices=("on", "off"), help="For soft-stop: on or off.")
        parser.add_argument("--scope", choices=ConfigScope.values, help="The settings row to write.")
        parser.add_argument("--account", help="An IB account: write (or show) its own row.")

    def handle(self, *args, action, state, scope, account, **options):
        if account is not None and not TradingConfig.objects.filter(scope=ConfigScope.ACCOUNT, account=account).exists():
            try:
                account_check(account)
            except ValueError as exc:
                raise CommandError(str(exc), returncode=2) from None
        if action is None:
            if state is not None or scope is not None:
                raise CommandError("nothing to set: name an action (kill, resume, soft-stop on|off)")
        elif action == "soft-stop":
            if state is None:
                raise CommandError(NEEDS_STATE)
            self._set("soft_stop", state == "on", scope, account)
        elif state is not None:
            raise CommandError(NO_STATE.format(action=action, state=state))
        else:
            self._set("kill_switch", action == "kill", scope, account)
        self._show(account)

    def _set(self, switch: str, on: bool, scope: str | None, account: str | None) -> None:
        try:
            changes = switch_set(switch=switch, on=on, scope=scope, account=account, source=SOURCE)
        except (ValidationError, ValueError) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from None
        for change in changes:
            self.stdout.write(f"{change}.")
        if not changes:
            self.stdout.write(NOTHING_CHANGED)

    def _show(self, account: str | None = None) -> None:
        rows = list(TradingConfig.objects.order_by("pk"))
        width = max(8, *(len(row.label) + 2 for row in rows))
        self.stdout.write(f"{'row':<{width}}{'kill switch':<18}soft stop")
        for row in rows:
            kill, soft = ROW_VALUES["trading_enabled"][row.trading_enabled], ROW_VALUES["soft_stop"][row.soft_stop]
            mode = f"  (active mode: {row.active_mode})" if row.active_mode else ""
            self.stdout.write(f"{row.label:<{width}}{kill:<18}{soft}{mode}")
        where = f" (account {account})" if account else ""
        self.stdout.write(f"in force{where}: {switch_state_line(account=account)}")
