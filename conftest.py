"""Root pytest configuration: loaded before Django is set up, so it can namespace what tests touch."""

import os

# Tests use their own Redis key prefix and django-q2 cluster name, so a console running on the same
# machine (sharing the embedded or local Redis) never picks up a test's task, nor a test one of its own.
os.environ.setdefault("CONSOLE_PREFIX", f"test{os.getpid()}")

# The paper gateway fixture (`paper_gateway`) for every test that needs "IB".
pytest_plugins = ["trading.ibsim.testing"]
