"""The one settings reader: environment variables with working defaults that fail loudly.

Every value the console reads from the environment goes through these helpers, so a bad value stops
start-up with one line naming the variable instead of a traceback deep inside a library.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigError(ImproperlyConfigured):
    """A malformed environment variable. `manage.py` prints it as one line and exits 2."""


def env_str(name: str, default: str = "") -> str:
    """A string from the environment; `NAME_FILE` (a path) wins, for secrets mounted as files."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={file_path!r} cannot be read: {exc.strerror}") from None
    return os.environ.get(name, default)


def env_zone(name: str, default: str) -> str:
    """An IANA time zone name ("America/New_York"); a name zoneinfo cannot load stops start-up."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = env_str(name, default).strip() or default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name}={value!r} is not an IANA time zone (use a name like America/New_York or UTC)") from None
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use one of: 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ConfigError(f"{name}={value} is out of range [{minimum}, {maximum}]")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ConfigError(f"{name}={value!r} must be one of: {', '.join(choices)}")
    return value


URL_ITEM = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)
CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def env_urls(name: str) -> list[str]:
    """Whitespace-separated URLs (`scheme://…`). An error names the item by position and scheme only:
    the rest of an apprise URL is its secret."""
    items = env_str(name, "").split()
    for position, item in enumerate(items, start=1):
        if not URL_ITEM.match(item):
            scheme = item.split("://", 1)[0] if "://" in item else "none"
            raise ConfigError(
                f"{name} item {position} (scheme {scheme!r}) is not a URL like scheme://…; separate URLs with spaces or newlines"
            )
    return items


def env_clock_time(name: str, default: str) -> str:
    """A time of day `HH:MM` (24 h), or "" when set to off/empty."""
    raw = os.environ.get(name, default).strip()
    if raw.lower() in {"", "off", "none"}:
        return ""
    match = CLOCK_TIME.match(raw)
    if not match:
        raise ConfigError(f"{name}={raw!r} is not a time of day HH:MM (24 h), or off")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def sqlite_config(path: Path | str) -> dict:
    """Every process keeps its connections open (CONN_MAX_AGE): a new SQLite connection re-reads the
    whole schema on its first query (~1.9 ms here). The web's request threads are kept (console/handler.py),
    each with its connection; django-q2 closes "old" connections before every task and every task record,
    which with CONN_MAX_AGE 0 meant two new connections per task (the cluster's CPU per `summary`: 7.9 →
    5.0 ms kept, bench/cpu_per_call.py). A forked q2 child never uses one it inherited (sqlite_fork_guard)."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "CONN_MAX_AGE": 600,
        # Several processes (web, worker, cluster) share the file: wait for locks instead of failing.
        # WAL: a commit appends to the log and syncs it once (the rollback journal syncs twice and
        # deletes a file), and readers neither wait for a writer nor stop it. django-q2 forks its
        # processes: a child must never close a connection it inherited (sqlite_fork_guard).
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL"},
        # Tests use a file too, so the worker and cluster subprocesses they start see the same data.
        "TEST": {"NAME": str(Path(path).with_name(Path(path).stem + "-test.sqlite3"))},
    }


_INHERITED: list = []  # SQLite connections a forked child inherited: kept, never closed (sqlite_fork_guard)
_FORK_GUARDED = False


def sqlite_fork_guard() -> None:
    """In a forked child, set aside the SQLite connections it inherited instead of letting it close them.

    django-q2 forks its sentinel, workers, monitor and pusher, and a child that closes an inherited SQLite
    connection (Django closes old connections before each task) acts on its parent's file state: in WAL
    mode it may checkpoint and delete the -wal/-shm files under the processes still using them ("disk I/O
    error", lost commits). SQLite's rule is that a connection never crosses a fork. After a fork the child
    keeps the inherited connection objects, unused, for its lifetime (multiprocessing's children leave
    through os._exit, which closes nothing), and opens its own on its first query. Registered once per
    process (console/settings.py, on SQLite)."""
    global _FORK_GUARDED
    if not _FORK_GUARDED:
        os.register_at_fork(after_in_child=_sqlite_connections_set_aside)
        _FORK_GUARDED = True


def _sqlite_connections_set_aside() -> None:
    from django.db import connections

    for wrapper in connections.all(initialized_only=True):
        if wrapper.vendor == "sqlite" and wrapper.connection is not None:
            _INHERITED.append(wrapper.connection)
            wrapper.connection = None  # the next query connects anew (connect() resets the wrapper's state)


def database_config(url: str, *, sqlite_path: Path, pool: bool = False) -> dict:
    """Django DATABASES['default'] from `DATABASE_URL`, or the SQLite file under var/ when unset.

    `pool` (DB_POOL, on in the web process: console/asgi.py): on PostgreSQL, a connection pool per
    process (Django's psycopg pool). Under daphne a request runs on a thread that may be new (beyond
    the kept request threads of console/handler.py), and a new connection costs TCP + authentication
    (2-8 ms); the pool hands a request an open connection and takes it back at the request's end. SQLite has
    no pool: every process keeps its connections (`sqlite_config`). The pool is off elsewhere: the
    worker's long-lived threads keep their own connection (trading/worker/dbconn.py), and the q2
    cluster forks its workers (a pool does not survive a fork)."""
    if not url:
        return sqlite_config(sqlite_path)
    import dj_database_url

    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = urlsplit(url).path
        if not path or path == "/":
            raise ConfigError("DATABASE_URL names no SQLite file (sqlite:////absolute/path.sqlite3)")
        return sqlite_config(path)
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ConfigError(f"DATABASE_URL has unsupported scheme {scheme!r} (use postgres:// or sqlite://)")
    try:
        config = dj_database_url.parse(url, conn_max_age=0 if pool else 60, conn_health_checks=True)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"DATABASE_URL is malformed: {exc}") from None
    if config["ENGINE"].endswith("postgresql") and not config.get("NAME"):
        raise ConfigError("DATABASE_URL names no database (postgres://user@host:5432/DBNAME)")
    if pool:  # Django refuses a pool with CONN_MAX_AGE; the health checks become the pool's own check
        config.setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": 16, "timeout": 10}
    return config


def embedded_redis_socket(var_dir: Path) -> Path:
    """Where the embedded Redis listens: a unix socket under var/ (short path, or /tmp if too long)."""
    path = var_dir / "redis.sock"
    if len(str(path)) > 100:  # AF_UNIX paths are limited to 108 bytes
        digest = hashlib.sha1(str(var_dir).encode()).hexdigest()[:12]
        path = Path("/tmp") / f"console-redis-{digest}.sock"
    return path


def redis_url(raw: str, *, var_dir: Path) -> str:
    """`REDIS_URL` validated, or the embedded Redis's unix-socket URL when unset."""
    if not raw:
        return f"unix://{embedded_redis_socket(var_dir)}"
    parts = urlsplit(raw)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(f"REDIS_URL has unsupported scheme {parts.scheme!r} (use redis://host:6379/0)")
    try:
        parts.port  # noqa: B018 - raises ValueError on a non-numeric port
    except ValueError:
        raise ConfigError(f"REDIS_URL has an invalid port: {raw!r}") from None
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError(f"REDIS_URL names no host: {raw!r}")
    return raw
