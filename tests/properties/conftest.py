"""The intent tests' worker fixture, for properties that run intents against the paper gateway."""

from tests.intents.conftest import console_worker  # noqa: F401 (a fixture)
