"""`manage.py runintent NAME [--param k=v …] [--account DU… | --all-accounts]`: submit an intent through the
one submission path and wait. `--account` names the IB account (default: the only one known; with several
it must be named); `--all-accounts` submits one run per known account (none if any account's worker is
down) and waits for them all, exiting with the worst outcome.

Exit codes: 0 succeeded · 2 bad parameters · 3 unknown intent · 4 worker unavailable · 5 the run failed,
expired or was interrupted · 6 still running when --wait ran out (the run keeps going; its id is printed)
· 7 partial: the intent did what it could and something is left (close_all with another client's order
still working); the reason lists what.
"""

import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from trading.intents.registry import IntentNotFound, intent_get, intent_list
from trading.intents.runs import (
    IdempotencyConflict,
    IntentParamsInvalid,
    WorkerUnavailable,
    accounts_ready,
    run_submit,
    run_wait,
)
from trading.models import RunSource, RunStatus

EXIT_OK, EXIT_BAD_INPUT, EXIT_UNKNOWN, EXIT_WORKER, EXIT_FAILED, EXIT_TIMEOUT, EXIT_PARTIAL = 0, 2, 3, 4, 5, 6, 7
EXIT_SEVERITY = (EXIT_OK, EXIT_PARTIAL, EXIT_TIMEOUT, EXIT_FAILED)  # --all-accounts exits with the worst
ALL_ACCOUNTS_KEY = "--idempotency-key names one run; --all-accounts submits several"
ALL_ACCOUNTS_PARAM = "--all-accounts names every account: give no account parameter"


def parse_param(text: str) -> tuple[str, object]:
    """`k=v`: the value is read as JSON when it parses (numbers, true/false, lists), else as a string."""
    if "=" not in text:
        raise CommandError(f"--param {text!r} is not key=value", returncode=EXIT_BAD_INPUT)
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def coerce_lists(intent_cls, params: dict) -> dict:
    """`--param strategies=a,b` → ["a", "b"] where the schema wants a list."""
    props = intent_cls.params_schema().get("properties", {})
    for key, value in params.items():
        spec = props.get(key, {})
        kinds = [spec.get("type")] + [option.get("type") for option in spec.get("anyOf", [])]
        if "array" in kinds and isinstance(value, str):
            params[key] = [item.strip() for item in value.split(",") if item.strip()]
    return params


class Command(BaseCommand):
    help = "Run an intent through the console's submission path and wait for its outcome."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="Intent name (see --list).")
        parser.add_argument("--param", action="append", default=[], metavar="K=V", help="A parameter (repeatable).")
        parser.add_argument("--params-json", default=None, help="All parameters as one JSON object.")
        dry = parser.add_mutually_exclusive_group()
        dry.add_argument("--dry-run", dest="dry_run", action="store_true", default=None, help="Plan only; send nothing.")
        dry.add_argument("--live", dest="dry_run", action="store_false", help="Really send orders (not a dry run).")
        parser.add_argument("--json", action="store_true", help="Print the run (with --list: the intents) as JSON.")
        parser.add_argument("--wait", type=float, default=None, help="Seconds to wait (default: the intent's timeout).")
        accounts = parser.add_mutually_exclusive_group()
        accounts.add_argument("--account", default=None, help="The IB account (default: the only one known).")
        accounts.add_argument(
            "--all-accounts", action="store_true", help="One run per known account (e.g. close_all everywhere)."
        )
        parser.add_argument("--idempotency-key", default=None)
        parser.add_argument("--list", action="store_true", help="List intents: description, parameters, types and defaults.")

    def handle(
        self, *args, name, param, params_json, dry_run, json: bool, wait, idempotency_key, list: bool, account,
        all_accounts: bool, **options,
    ):  # fmt: skip
        if list:
            return self._list(as_json=json)
        if not name:
            raise CommandError("name an intent (or --list)", returncode=EXIT_BAD_INPUT)
        if all_accounts and idempotency_key:
            raise CommandError(ALL_ACCOUNTS_KEY, returncode=EXIT_BAD_INPUT)
        params = self._params(params_json, param)
        if all_accounts:
            if "account" in params:
                raise CommandError(ALL_ACCOUNTS_PARAM, returncode=EXIT_BAD_INPUT)
            accounts = self._refusals(lambda: accounts_ready(name))
            # every account was checked first: a refusal now would be a bad parameter, the same for each
            submitted = [self._submit(name, params, dry_run, None, account=one) for one in accounts]
        else:
            submitted = [self._submit(name, params, dry_run, idempotency_key, account=account)]
        intent_cls = submitted[0][1]
        timeout = wait if wait is not None else intent_cls.start_within + intent_cls.timeout + 5
        for run, _ in submitted:
            for_account = f" for {run.account}" if run.account else ""
            self.stderr.write(
                f"run #{run.pk} {name}{' (dry run)' if run.dry_run else ''}{for_account} submitted; waiting up to {timeout:.0f}s"
            )
        started = time.monotonic()
        runs = [run_wait(run.pk, timeout=max(0.0, timeout - (time.monotonic() - started))) for run, _ in submitted]
        for run in runs:
            self._print(run, as_json=json)
        codes = [self._exit_code(run) for run in runs]
        code = max(codes, key=EXIT_SEVERITY.index)
        if code != EXIT_OK:
            sys.exit(code)
        return None

    @staticmethod
    def _exit_code(run) -> int:
        if run.status == RunStatus.SUCCEEDED:
            return EXIT_OK
        if run.status == RunStatus.PARTIAL:
            return EXIT_PARTIAL
        return EXIT_TIMEOUT if run.status in (RunStatus.QUEUED, RunStatus.RUNNING) else EXIT_FAILED

    def _submit(self, intent: str, params: dict, dry_run, idempotency_key, *, account: str | None = None):
        """Through the one submission path; each refusal becomes its exit code (shared with `order`)."""

        def submit():
            intent_cls = intent_get(intent)
            run, _ = run_submit(
                intent=intent, params=coerce_lists(intent_cls, dict(params)), dry_run=dry_run, source=RunSource.CLI,
                idempotency_key=idempotency_key, account=account,
            )  # fmt: skip
            return run, intent_cls

        return self._refusals(submit)

    @staticmethod
    def _refusals(call):
        try:
            return call()
        except IntentNotFound as exc:
            raise CommandError(str(exc), returncode=EXIT_UNKNOWN) from None
        except (IntentParamsInvalid, IdempotencyConflict) as exc:
            raise CommandError(str(exc), returncode=EXIT_BAD_INPUT) from None
        except WorkerUnavailable as exc:
            raise CommandError(str(exc), returncode=EXIT_WORKER) from None

    def _params(self, params_json, pairs) -> dict:
        params = {}
        if params_json:
            try:
                params = json.loads(params_json)
            except json.JSONDecodeError as exc:
                raise CommandError(f"--params-json is not valid JSON: {exc}", returncode=EXIT_BAD_INPUT) from None
            if not isinstance(params, dict):
                raise CommandError("--params-json must be a JSON object", returncode=EXIT_BAD_INPUT)
        for pair in pairs:
            key, value = parse_param(pair)
            params[key] = value
        return params

    def _print(self, run, *, as_json: bool) -> None:
        record = {
            "id": run.pk, "intent": run.intent, "status": run.status, "dry_run": run.dry_run, "params": run.params,
            "account": run.account, "result": run.result, "error": run.error,
        }  # fmt: skip
        if as_json:
            self.stdout.write(json_dumps(record))
            return
        self.stdout.write(f"run #{run.pk} {run.intent}{f' for {run.account}' if run.account else ''}: {run.status}")
        if run.error:
            self.stdout.write(f"reason: {run.error.splitlines()[0]}")
        if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
            self.stdout.write(f"still {run.status}; follow it with the admin or GET /api/runs/{run.pk}")
        if run.result:
            self.stdout.write(json_dumps(run.result))

    def _list(self, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json_dumps([intent_cls.describe() for intent_cls in intent_list()]))
            return
        for intent_cls in intent_list():
            self.stdout.write("\n".join(intent_table(intent_cls)) + "\n\n")


def intent_table(intent_cls) -> list[str]:
    """An intent as people read it: name and traits, description, then one line per parameter."""
    traits = [
        t
        for t, on in (("places orders", intent_cls.places_orders), ("runs under the kill switch", intent_cls.allowed_when_killed))
        if on
    ]
    lines = [f"{intent_cls.name}" + (f"  ({', '.join(traits)})" if traits else ""), f"  {intent_cls.description}"]
    schema = intent_cls.params_schema()
    rows = [param_row(name, spec, name in schema.get("required", ())) for name, spec in schema.get("properties", {}).items()]
    if not rows:
        return [*lines, "  no parameters"]
    rows.insert(0, ("parameter", "type", "default", "meaning"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [*lines, *(f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip() for r in rows)]


def param_row(name: str, spec: dict, required: bool) -> tuple[str, str, str, str]:
    if required:
        default = "required"
    else:
        default = "–" if spec.get("default") is None else json.dumps(spec["default"])
    return name, type_words(spec), default, spec.get("description", "")


def type_words(spec: dict) -> str:
    """JSON schema → `integer ≥ 1`, `list of text`, `MKT | LMT`, `number > 0`, `date`."""
    options = [option for option in spec.get("anyOf", [spec]) if option.get("type") != "null"]
    return " or ".join(_one_type(option) for option in options) or "any"


def _one_type(spec: dict) -> str:
    if "enum" in spec:
        return " | ".join(str(value) for value in spec["enum"])
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list of {_one_type(spec.get('items', {}))}"
    words = {"string": spec.get("format", "text"), "boolean": "true/false"}.get(kind, kind)
    if "minimum" in spec:
        words += f" ≥ {spec['minimum']}"
    if "exclusiveMinimum" in spec:
        words += f" > {spec['exclusiveMinimum']}"
    if "maximum" in spec:
        words += f" ≤ {spec['maximum']}"
    return words


def json_dumps(value) -> str:
    return json.dumps(value, indent=2, default=str, sort_keys=True)
