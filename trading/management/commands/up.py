"""`manage.py up`: start the console's processes together, with prefixed logs, and stop them together.

Supervision is honcho's (a well-kept Procfile runner): every child gets a name-prefixed log, and Ctrl-C
or SIGTERM stops every child. This command only decides which processes the configuration needs.
"""

import shlex
import socket
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from honcho.manager import Manager

from console.embedded_redis import server_command, socket_from_url

PORT_IN_USE = "port {port} on {host} is already in use (is the console already running? try --port)"


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class Command(BaseCommand):
    help = "Run the whole console: embedded Redis (unless REDIS_URL), the web server (admin, dashboard, API)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Web server address (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Web server port (default 8000).")

    def handle(self, *args, host, port, **options):
        if not port_is_free(host, port):
            raise CommandError(PORT_IN_USE.format(host=host, port=port))
        manager = Manager()
        for name, command in self.processes(host, port):
            manager.add_process(name, command)
        self.stdout.write(f"Console on http://{host}:{port}/  (admin: /admin/)  Ctrl-C stops everything.")
        manager.loop()
        sys.exit(manager.returncode)

    def processes(self, host: str, port: int) -> list[tuple[str, str]]:
        python = sys.executable
        processes = []
        if settings.REDIS_EMBEDDED:
            socket_path = socket_from_url(settings.REDIS_URL)
            socket_path.unlink(missing_ok=True)
            processes.append(("redis", shlex.join(server_command(socket_path, daemonize=False))))
        processes.append(("web", f"{python} -m daphne -b {host} -p {port} console.asgi:application"))
        return processes
