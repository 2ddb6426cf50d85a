"""Loaded with `-p` before pytest-django imports the settings: give this test run its own namespace.

Tests use their own Redis key prefix, django-q2 cluster name and SQLite test file, so a console
running on the same machine never picks up a test's task, nor a test one of the console's.
"""

import os

os.environ.setdefault("CONSOLE_PREFIX", f"test{os.getpid()}")
