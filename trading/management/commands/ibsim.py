"""``python manage.py ibsim``: run the paper IB Gateway (see trading/ibsim/README.md)."""

from django.core.management.base import BaseCommand

from trading.ibsim import cli


class Command(BaseCommand):
    help = "Run the paper IB Gateway: a TWS API server on 127.0.0.1 for ib_insync clients."

    def add_arguments(self, parser):
        cli.add_arguments(parser)

    def handle(self, *args, **options):
        cli.run(options)
