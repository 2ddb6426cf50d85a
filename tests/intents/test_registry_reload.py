"""A new, changed or deleted intent file is known at the next lookup, in every process, with no restart."""

import pytest

from trading.intents.registry import IntentNotFound, intent_get, intent_list, intent_load_errors, intents_load

FILE = """
from trading.intents import Intent, IntentParams, intent_register


@intent_register
class Dropped(Intent):
    name = "{name}"
    requires_ib = False

    class Params(IntentParams):
        pass

    async def run(self, ctx, params):
        return {{}}
"""


@pytest.fixture
def intent_dir(tmp_path, settings):
    settings.INTENT_PATHS = str(tmp_path)
    yield tmp_path
    for path in tmp_path.glob("*.py"):
        path.unlink()
    intents_load()  # forget what the test dropped in


def test_a_file_dropped_in_is_known_at_the_next_lookup(intent_dir):
    with pytest.raises(IntentNotFound):
        intent_get("dropped_in")

    (intent_dir / "dropped.py").write_text(FILE.format(name="dropped_in"))

    assert intent_get("dropped_in").__module__.startswith("console_intents.")
    assert "dropped_in" in [cls.name for cls in intent_list()]


def test_a_changed_file_replaces_its_intents_and_a_deleted_one_takes_them_away(intent_dir):
    path = intent_dir / "dropped.py"
    path.write_text(FILE.format(name="first_name"))
    assert intent_get("first_name")

    path.write_text(FILE.format(name="second_longer_name"))
    assert intent_get("second_longer_name")
    with pytest.raises(IntentNotFound):
        intent_get("first_name")

    path.unlink()
    with pytest.raises(IntentNotFound):
        intent_get("second_longer_name")


def test_a_broken_file_is_reported_until_it_is_fixed(intent_dir):
    path = intent_dir / "broken.py"
    path.write_text("raise RuntimeError('half written')\n")
    assert [e["error"] for e in intent_load_errors()] == ["RuntimeError: half written"]

    path.write_text(FILE.format(name="fixed_now"))

    assert intent_load_errors() == [] and intent_get("fixed_now")


def test_a_file_may_not_take_a_built_in_name(intent_dir):
    (intent_dir / "impostor.py").write_text(FILE.format(name="place_order"))

    assert "is taken by trading.intents.builtin.place_order" in intent_load_errors()[0]["error"]
    assert intent_get("place_order").__module__ == "trading.intents.builtin.place_order"
