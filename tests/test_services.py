"""The database and Redis the settings name are really there: a missing service fails, never skips."""

import os

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management import call_command
from django.db import connection

from trading.models import Strategy, TradingConfig


@pytest.mark.django_db
def test_the_configured_database_is_the_one_in_use():
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres", "pgsql")) else "sqlite"
    assert connection.vendor == expected


@pytest.mark.django_db
def test_migrations_applied_and_seeded_the_config():
    assert set(TradingConfig.objects.values_list("scope", flat=True)) == {"common", "paper", "live"}
    assert set(Strategy.objects.values_list("strategy_id", flat=True)) == {"testsignalgenerator", "spy_macd_vixy"}
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # models and migrations agree


def test_the_channel_layer_round_trips_through_redis(redis_url):
    layer = get_channel_layer()

    async def round_trip():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "ping", "n": 1})
        return await layer.receive(channel)

    assert async_to_sync(round_trip)() == {"type": "ping", "n": 1}


def test_django_q_reaches_its_broker(redis_url):
    from django_q.brokers import get_broker

    broker = get_broker()
    assert broker.ping() is True
