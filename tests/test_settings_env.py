"""Start-up configuration: bad environment values stop `manage.py` with one clear line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **env):
    environ = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    environ.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysqlx://nobody@db/x"}, "DATABASE_URL has unsupported scheme 'mysqlx'"),
        ({"DATABASE_URL": "postgres://u@host:notaport/db"}, "DATABASE_URL is malformed"),
        ({"DATABASE_URL": "postgres://u@host:5432/"}, "DATABASE_URL names no database"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL has unsupported scheme 'http'"),
        ({"REDIS_URL": "redis://localhost:port/0"}, "REDIS_URL has an invalid port"),
        ({"TRADING_MODE": "yolo"}, "TRADING_MODE='yolo' must be one of: paper, live"),
        ({"IB_PORT": "seventy"}, "IB_PORT='seventy' is not an integer"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DISPLAY_TIME_ZONE": "Eastern"}, "DISPLAY_TIME_ZONE='Eastern' is not an IANA time zone"),
        ({"SCHEDULE_TIME_ZONE": "Mars/Base"}, "SCHEDULE_TIME_ZONE='Mars/Base' is not an IANA time zone"),
    ],
)
def test_a_malformed_variable_stops_start_up_with_one_line(env, message):
    result = manage("check", **env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"configuration error: {result.stderr.split(': ', 1)[1].strip()}"]
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_production_settings_pass_check_deploy(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="console.settings_production",
        SECRET_KEY="x7!" * 20 + "production-secret-for-the-check",
        ALLOWED_HOSTS="console.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_their_secrets():
    result = manage("check", DJANGO_SETTINGS_MODULE="console.settings_production", SECRET_KEY="")
    assert result.returncode == 2
    assert "SECRET_KEY must be set" in result.stderr


def test_the_readme_configuration_table_names_every_variable_the_settings_read():
    import re

    read = set()
    for path in (ROOT / "console").glob("settings*.py"):
        read |= set(re.findall(r'env_(?:str|bool|int|list|choice|urls|clock_time)\("([A-Z_]+)"', path.read_text()))
    table = set(re.findall(r"^\| `([A-Z_]+)` \|", (ROOT / "README.md").read_text(), flags=re.M))
    assert read and read <= table, f"missing from README: {sorted(read - table)}"


def test_postgresql_connections_are_pooled_in_the_web_process_and_kept_per_thread_elsewhere(tmp_path):
    """Daphne serves each request in a new thread: only a pool lets a request reuse a connection. The
    worker keeps its threads' connections (CONN_MAX_AGE), and the q2 cluster forks (no pool there)."""
    from console.env import database_config

    url = "postgres://u@127.0.0.1:5432/db"
    pooled = database_config(url, sqlite_path=tmp_path / "x.sqlite3", pool=True)
    assert pooled["CONN_MAX_AGE"] == 0 and pooled["CONN_HEALTH_CHECKS"] is True
    assert pooled["OPTIONS"]["pool"]["max_size"] >= 8
    kept = database_config(url, sqlite_path=tmp_path / "x.sqlite3", pool=False)
    assert kept["CONN_MAX_AGE"] == 60 and "pool" not in kept.get("OPTIONS", {})
    assert "pool" not in database_config("", sqlite_path=tmp_path / "x.sqlite3", pool=True)["OPTIONS"]
    # SQLite has no pool: every process keeps its connection (a forked q2 child sets aside what it inherited)
    assert database_config("", sqlite_path=tmp_path / "x.sqlite3", pool=True)["CONN_MAX_AGE"] > 0
    assert database_config("", sqlite_path=tmp_path / "x.sqlite3", pool=False)["CONN_MAX_AGE"] > 0
    assert database_config(f"sqlite:///{tmp_path}/y.sqlite3", sqlite_path=tmp_path / "x.sqlite3", pool=False)["CONN_MAX_AGE"] > 0

    script = (
        "import console.asgi; from django.conf import settings; print(bool(settings.DATABASES['default']['OPTIONS'].get('pool')))"
    )
    environ = {k: v for k, v in os.environ.items() if k not in {"DB_POOL", "DJANGO_SETTINGS_MODULE"}}
    for extra, expected in (({}, "True"), ({"DB_POOL": "false"}, "False")):
        result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**environ, "DATABASE_URL": url, **extra},
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == expected
    result = manage("shell", "-c", "from django.conf import settings; print(bool(settings.DATABASES['default']['OPTIONS'].get('pool')))",
                    DATABASE_URL=url)  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr
