"""`manage.py order buy 10 AAPL --limit 190.5`: one order from a shell, through the `place_order` intent.

    order buy|sell QTY SYMBOL [--limit P] [--stop P] [--type T] [--tif GTC] [--stop-loss P --take-profit P] …
    order buy|sell SYMBOL --notional 5000 | --percent 2
    order modify ROW_ID [--limit P] [--stop P] [--quantity Q]
    order cancel ROW_ID

`runintent`'s rules: with neither --live nor --dry-run the `dry_run_default` setting decides (the output
says which), except a cancel, which only reduces risk and is live unless --dry-run (as on the dashboard
and DELETE /api/orders/{id}). Same exit codes as runintent. The values are passed as typed; the intent's
schema validates them (a bad one exits 2 naming the field).
"""

import sys
from decimal import Decimal

from django.core.management.base import CommandError

from trading.intents.runs import order_route, run_wait
from trading.management.commands.runintent import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_PARTIAL,
    EXIT_TIMEOUT,
)
from trading.management.commands.runintent import Command as RunIntentCommand
from trading.models import Order, OrderStatus, RunStatus

PLACE, MODIFY, CANCEL = "place_order", "modify_order", "cancel_order"
USAGE = "usage: order buy|sell [QTY] SYMBOL [options] · order modify ROW_ID --limit P · order cancel ROW_ID"
NO_SIZE = "give a quantity (order buy 10 AAPL) or --notional / --percent (order buy AAPL --notional 5000)"
ROW_ID = "{verb} needs the console's order row id (`id` in GET /api/orders), e.g. order {verb} 42"
NO_ORDER = "no order #{pk}"
NOT_OPEN = "order #{pk} ({symbol}) is {status}: only an open order can be changed or cancelled"
NOTHING_TO_CHANGE = "order modify needs --limit, --stop or --quantity"
NOT_FOR_VERB = "{options} cannot be used with order {verb}"

# CLI option → place_order parameter (values passed as typed: the intent's schema parses them).
PLACE_OPTIONS = {
    "type": "order_type", "limit": "limit_price", "stop": "stop_price", "trail_amount": "trail_amount",
    "trail_percent": "trail_percent", "tif": "tif", "stop_loss": "stop_loss", "take_profit": "take_profit",
    "notional": "notional", "percent": "percent", "strategy": "strategy", "sec_type": "sec_type",
    "exchange": "exchange", "currency": "currency",
}  # fmt: skip
MODIFY_OPTIONS = {"limit": "limit_price", "stop": "stop_price", "quantity": "quantity"}


def order_type_infer(options: dict) -> str | None:
    """`--limit` alone is a limit order, `--stop` a stop, both a stop limit; --type always wins."""
    if options.get("type"):
        return options["type"]
    if options.get("trail_amount") or options.get("trail_percent"):
        return "TRAIL"
    limit, stop = options.get("limit"), options.get("stop")
    return {(True, True): "STP LMT", (True, False): "LMT", (False, True): "STP"}.get((bool(limit), bool(stop)))


class Command(RunIntentCommand):
    help = "Place, modify or cancel one order through the console's submission path (see the module docstring)."

    def add_arguments(self, parser):
        parser.add_argument("verb", choices=["buy", "sell", "modify", "cancel"])
        parser.add_argument("words", nargs="*", metavar="QTY SYMBOL | ROW_ID")
        parser.add_argument("--limit", help="Limit price (LMT; with --stop: STP LMT).")
        parser.add_argument("--stop", help="Stop price (STP; with --limit: STP LMT).")
        parser.add_argument("--type", help="Order type: MKT, LMT, STP, 'STP LMT', TRAIL, MOC, LOC (default: inferred).")
        parser.add_argument("--tif", help="Time in force: DAY, GTC, IOC, OPG.")
        parser.add_argument("--trail-amount")
        parser.add_argument("--trail-percent")
        parser.add_argument("--stop-loss", help="Bracket: the stop-loss stop price.")
        parser.add_argument("--take-profit", help="Bracket: the take-profit limit price.")
        parser.add_argument("--notional", help="Size as a cash amount instead of a quantity.")
        parser.add_argument("--percent", help="Size as a percent of net liquidation instead of a quantity.")
        parser.add_argument("--quantity", help="modify: the new total quantity.")
        parser.add_argument("--outside-rth", action="store_true", default=None, help="Allow filling outside regular hours.")
        parser.add_argument("--strategy", help="Owner recorded in orderRef (default: manual).")
        parser.add_argument("--sec-type", help="STK (default) or CASH.")
        parser.add_argument("--exchange")
        parser.add_argument("--currency")
        dry = parser.add_mutually_exclusive_group()
        dry.add_argument("--dry-run", dest="dry_run", action="store_true", default=None, help="Plan only; send nothing.")
        dry.add_argument("--live", dest="dry_run", action="store_false", help="Really send the order.")
        parser.add_argument("--json", action="store_true", help="Print the run as JSON.")
        parser.add_argument("--wait", type=float, default=None, help="Seconds to wait (default: the intent's timeout).")
        parser.add_argument("--idempotency-key", default=None, help="The same key returns the same run.")
        parser.add_argument("--account", default=None, help="The IB account (default: the only one known).")

    def handle(self, *args, verb, words, dry_run, json: bool, wait, idempotency_key, **options):
        decided = "--dry-run" if dry_run else "--live" if dry_run is False else "the dry_run_default setting"
        if verb in ("buy", "sell"):
            intent, params = PLACE, self._place_params(verb, words, options)
        else:
            intent, params = self._change_params(verb, words, options)
            if verb == "cancel" and dry_run is None:
                dry_run, decided = False, "a cancel is live unless --dry-run"  # it only reduces risk
        account = options.get("account") or (self._route.account if verb in ("modify", "cancel") else None)
        run, intent_cls = self._submit(intent, params, dry_run, idempotency_key, account=account)
        mode = "dry run: nothing is sent" if run.dry_run else "live: sent to IB"
        self.stdout.write(f"run #{run.pk} {intent}: {mode} ({decided})")
        timeout = wait if wait is not None else intent_cls.start_within + intent_cls.timeout + 5
        run = run_wait(run.pk, timeout=timeout)
        self._print(run, as_json=json)
        if not json:
            self._print_orders(run, params.get("order"))
        if run.status == RunStatus.SUCCEEDED:
            return None
        if run.status == RunStatus.PARTIAL:
            sys.exit(EXIT_PARTIAL)
        sys.exit(EXIT_TIMEOUT if run.status in (RunStatus.QUEUED, RunStatus.RUNNING) else EXIT_FAILED)

    def _place_params(self, verb: str, words: list[str], options: dict) -> dict:
        if len(words) == 2:
            quantity, symbol = words
        elif len(words) == 1 and (options.get("notional") or options.get("percent")):
            quantity, symbol = None, words[0]
        else:
            raise CommandError(f"{NO_SIZE}\n{USAGE}", returncode=EXIT_BAD_INPUT)
        self._refuse_foreign(verb, options, allowed=set(PLACE_OPTIONS) | {"outside_rth"})
        params = {"symbol": symbol, "action": verb.upper()}
        if quantity is not None:
            params["quantity"] = quantity
        params.update({name: options[option] for option, name in PLACE_OPTIONS.items() if options.get(option) is not None})
        if order_type := order_type_infer(options):
            params["order_type"] = order_type
        if options.get("outside_rth"):
            params["outside_rth"] = True
        return params

    def _change_params(self, verb: str, words: list[str], options: dict) -> tuple[str, dict]:
        if len(words) != 1 or not words[0].isdigit():
            raise CommandError(ROW_ID.format(verb=verb), returncode=EXIT_BAD_INPUT)
        allowed = set(MODIFY_OPTIONS) if verb == "modify" else set()
        self._refuse_foreign(verb, options, allowed=allowed)
        order = Order.objects.filter(pk=int(words[0])).first()
        if order is None:
            raise CommandError(NO_ORDER.format(pk=words[0]), returncode=EXIT_BAD_INPUT)
        if order.status not in OrderStatus.open_values():
            raise CommandError(NOT_OPEN.format(pk=order.pk, symbol=order.symbol, status=order.status), returncode=EXIT_BAD_INPUT)
        self._route = order_route(order)  # the change goes to the order's own connection, or nowhere
        if self._route.refusal:
            raise CommandError(self._route.refusal, returncode=EXIT_BAD_INPUT)
        if verb == "cancel":
            return CANCEL, {"order": order.pk}
        changes = {name: options[option] for option, name in MODIFY_OPTIONS.items() if options.get(option) is not None}
        if not changes:
            raise CommandError(NOTHING_TO_CHANGE, returncode=EXIT_BAD_INPUT)
        return MODIFY, {"order": order.pk, **changes}

    def _refuse_foreign(self, verb: str, options: dict, *, allowed: set[str]) -> None:
        every = set(PLACE_OPTIONS) | set(MODIFY_OPTIONS) | {"outside_rth"}
        foreign = sorted(name for name in every - allowed if options.get(name) is not None)
        if foreign:
            names = ", ".join("--" + name.replace("_", "-") for name in foreign)
            raise CommandError(NOT_FOR_VERB.format(options=names, verb=verb), returncode=EXIT_BAD_INPUT)

    def _print_orders(self, run, order_pk: int | None) -> None:
        """What was planned or sent, as the console recorded it (the order gateway writes the rows)."""
        orders = Order.objects.filter(pk=order_pk) if order_pk else run.orders.order_by("pk")
        for order in orders:
            prices = "".join(
                f" {label} {plain(value)}" for label, value in (("@", order.lmt_price), ("stop", order.aux_price)) if value
            )
            ib = f" IB #{order.order_id}" if order.order_id else ""
            self.stdout.write(
                f"order #{order.pk} {order.action} {plain(order.total_quantity)} {order.symbol} {order.order_type}{prices} "
                f"{order.tif or 'DAY'} [{order.status}]{ib}"
            )


def plain(value: Decimal) -> str:
    """190.500000 → 190.5, 100.0000 → 100 (no exponent)."""
    return f"{Decimal(value).normalize():f}"
