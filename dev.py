#!/usr/bin/env python3
"""The README's two commands, on a fresh clone with nothing but Python:

    python3 dev.py up      set up (virtualenv, pinned install, migrations, demo admin) and run the console
    python3 dev.py test    set up and run the linter and the whole test suite (extra args go to pytest)

Set-up is idempotent: the virtualenv and the install are reused while requirements.txt is unchanged.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
REQUIREMENTS = ROOT / "requirements.txt"
STAMP = VENV / ".requirements.sha256"


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def run(*args: str | Path, **kwargs) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, **kwargs)
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_venv() -> None:
    if not PYTHON.exists():
        say(f"creating virtualenv {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say("installing pinned requirements")
    run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS)
    STAMP.write_text(wanted)


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


COMMANDS = {"up": command_up, "test": command_test}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    os.chdir(ROOT)
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
