"""The example user intent in the top-level intents/ folder: loaded by the registry, run by the worker."""

import pytest

from tests.intents.conftest import submit_and_wait
from trading.intents.registry import intent_get, intent_load_errors
from trading.models import RunStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_example_user_intent_is_loaded_from_the_intents_folder():
    intent = intent_get("example_hello")
    assert intent.__module__.startswith("console_intents.") and intent_load_errors() == []


def test_it_runs_and_places_nothing(paper_gateway, console_worker):
    run = submit_and_wait("example_hello", {"who": "desk"}, dry_run=False)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.result["greeting"] == "hello desk" and run.result["net_liquidation"] > 900_000
    assert paper_gateway.orders() == []
