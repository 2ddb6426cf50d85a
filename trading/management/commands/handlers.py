"""`manage.py handlers`: list the IB event handlers the worker would bind, without connecting.

Exits non-zero when any handler file or path fails to load, so a user's CI can run it on every
change to the handlers folder. The work is done by `trading.handlers`; this is only its front.
"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from trading.handlers import error_lines, listing_lines, load_handlers

LOAD_ERRORS = "{count} handler load error(s)"


class Command(BaseCommand):
    help = "List IB event handlers (event, name, file:line, sync/async) and load errors; exit 1 on any error."

    def add_arguments(self, parser):
        parser.add_argument(
            "--path",
            action="append",
            dest="paths",
            metavar="P",
            help="Handler file or folder (repeatable). Default: IB_DAEMON_HANDLERS, else the project's handlers/.",
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the handler set as JSON."
        )
        parser.add_argument(
            "--traceback-errors", action="store_true", help="Print each load error's traceback."
        )

    def handle(self, *args, paths=None, as_json=False, traceback_errors=False, **options):
        handler_set = load_handlers(paths or getattr(settings, "IB_DAEMON_HANDLERS", None))
        if as_json:
            self.stdout.write(json.dumps(handler_set.to_dict(), indent=2))
        else:
            for line in listing_lines(handler_set):
                self.stdout.write(line)
        for line in error_lines(handler_set, tracebacks=traceback_errors):
            self.stderr.write(line)
        if handler_set.errors:
            raise CommandError(LOAD_ERRORS.format(count=len(handler_set.errors)), returncode=1)
