#!/usr/bin/env python3
"""The README's two commands, on a fresh clone with nothing but Python:

    python3 dev.py up      set up (virtualenv, pinned install, migrations, demo admin) and run the console
    python3 dev.py test    set up and run the linter and the whole test suite (extra args go to pytest)

and one for the second client library:

    python3 dev.py test-ibasync   the worker, intents and handlers tests on ib_async instead of ib_insync, in
                                  their own virtualenv .venv-ibasync/ (SQLite + embedded Redis; extra args go to pytest)

Set-up is idempotent: a virtualenv and its install are reused while its requirements are unchanged.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
REQUIREMENTS = ROOT / "requirements.txt"
STAMP_NAME = ".requirements.sha256"
# ib_async instead of ib_insync: requirements.txt with its ib_insync pin replaced by this file's pins. The
# two cannot share a virtualenv (ib_async's aeventkit replaces ib_insync's eventkit module).
VENV_IBASYNC = ROOT / ".venv-ibasync"
REQUIREMENTS_IBASYNC = ROOT / "requirements-ibasync.txt"
IBASYNC_TESTS = ("tests/worker", "tests/intents", "tests/handlers")  # what the client library is under
IB_INSYNC_PIN = re.compile(r"^\s*ib[_-]insync\b", re.IGNORECASE)


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def run(*args: str | Path, **kwargs) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, **kwargs)
    if result.returncode != 0:
        sys.exit(result.returncode)


def create_venv(where: Path) -> Path:
    """The virtualenv `where`, created empty when it has no python yet; its python."""
    python = where / "bin" / "python"
    if not python.exists():
        say(f"creating virtualenv {where.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True, clear=True).create(where)
    return python


def ensure_venv(where: Path = VENV, requirements: Path = REQUIREMENTS) -> Path:
    """The virtualenv `where` with `requirements` installed (reused while the file is unchanged); its python."""
    python = create_venv(where)
    wanted = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = where / STAMP_NAME
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    say(f"installing pinned requirements into {where.relative_to(ROOT)}")
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements)
    stamp.write_text(wanted)
    return python


def ibasync_requirements() -> str:
    """requirements.txt with the ib_insync pin swapped for requirements-ibasync.txt's (every other pin kept)."""
    kept = [line for line in REQUIREMENTS.read_text().splitlines() if not IB_INSYNC_PIN.match(line)]
    return "\n".join([*kept, "# --- the client library: requirements-ibasync.txt ---", REQUIREMENTS_IBASYNC.read_text()])


def ensure_ibasync_venv() -> Path:
    create_venv(VENV_IBASYNC)
    requirements = VENV_IBASYNC / "requirements.txt"  # generated: the file the stamp is taken of
    text = ibasync_requirements()
    if not requirements.exists() or requirements.read_text() != text:
        requirements.write_text(text)
    return ensure_venv(VENV_IBASYNC, requirements)


def manage(*args: str) -> None:
    run(PYTHON, "manage.py", *args)


def command_up(extra: list[str]) -> None:
    ensure_venv()
    manage("migrate", "--no-input", "-v", "0")
    manage("demoadmin")
    say("starting the console (Ctrl-C stops everything)")
    os.execv(PYTHON, [str(PYTHON), "manage.py", "up", *extra])


def command_test(extra: list[str]) -> None:
    ensure_venv()
    say("ruff check")
    run(VENV / "bin" / "ruff", "check", ".")
    database = os.environ.get("DATABASE_URL") or "SQLite (var/ file, test copy)"
    redis = os.environ.get("REDIS_URL") or "embedded Redis"
    say(f"pytest on {database} + {redis}")
    run(PYTHON, "-m", "pytest", *extra)


def command_test_ibasync(extra: list[str]) -> None:
    python = ensure_ibasync_venv()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    say(f"pytest {' '.join(IBASYNC_TESTS)} on ib_async, SQLite (var/ file, test copy) + embedded Redis")
    run(python, "-m", "pytest", *IBASYNC_TESTS, *extra, env=env)


COMMANDS = {"up": command_up, "test": command_test, "test-ibasync": command_test_ibasync}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    os.chdir(ROOT)
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
