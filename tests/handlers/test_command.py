"""`manage.py handlers` lists handlers and fails on load errors; the package needs no Django."""

import io
import os
import subprocess
import sys
from pathlib import Path

from django.core.management.base import CommandError

from tests.handlers.factories import status_handler
from trading.management.commands.handlers import Command

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_command(**options):
    stdout, stderr = io.StringIO(), io.StringIO()
    command = Command(stdout=stdout, stderr=stderr)
    error = None
    try:
        command.handle(**options)
    except CommandError as raised:
        error = raised
    return stdout.getvalue(), stderr.getvalue(), error


def test_it_lists_event_name_location_and_kind(handlers_dir, write):
    path = write("status.py", status_handler("s"))

    out, err, error = run_command(paths=[str(handlers_dir)])

    assert error is None and err == ""
    assert "orderStatus" in out and "on_status" in out and f"{path}:4" in out and "sync" in out
    assert "1 handler(s) in 1 file(s), 0 load error(s)" in out


def test_it_exits_non_zero_and_names_every_error(handlers_dir, write, tmp_path):
    broken = write("broken.py", "def (:\n")

    out, err, error = run_command(paths=[str(handlers_dir), str(tmp_path / "missing")])

    assert error is not None and error.returncode == 1
    assert f"ERROR {broken}:1: SyntaxError" in err
    assert f"ERROR {tmp_path / 'missing'}: handler path does not exist" in err


def test_it_prints_json(handlers_dir, write):
    write("status.py", status_handler("s"))

    out, _, _ = run_command(paths=[str(handlers_dir)], as_json=True)

    assert '"event": "orderStatus"' in out


def manage(*args, **env):
    environment = {key: value for key, value in os.environ.items() if key != "IB_DAEMON_HANDLERS"} | env
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_manage_py_handlers_exit_code_follows_the_load(handlers_dir, write):
    write("good.py", status_handler("good"))
    assert manage("handlers", "--path", str(handlers_dir)).returncode == 0

    write("bad.py", "import does_not_exist_anywhere\n")
    result = manage("handlers", IB_DAEMON_HANDLERS=str(handlers_dir))

    assert result.returncode == 1
    assert f"{handlers_dir / 'bad.py'}:1: ModuleNotFoundError" in result.stderr


def test_the_package_imports_without_django():
    code = "import sys, trading.handlers; print(sorted(m for m in sys.modules if m.startswith('django')))"
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.strip() == "[]"
