"""What the web process costs a request before and after the view: Django's ASGI handler (its
middleware chain in async mode, a thread hop per middleware half) against console/handler.py (the
chain in sync mode, entered once). Both behind daphne on one backend, alternating rounds, so a noisy
machine weighs on both alike. Two requests: ``GET /api/health`` (no auth, one heartbeat read) and
``GET /api/orders?limit=1`` (a token, a list query). Prints p50/p95 per handler::

    python bench/web_overhead.py --backend sqlite [-n 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import Stack, load_average, percentile, print_header  # noqa: E402

HANDLERS = {"django": "bench.asgi_django_handler:application", "console": "console.asgi:application"}


def timed_get(port: int, path: str, token: str | None) -> float:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        assert response.status == 200, response.status
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("-n", type=int, default=300, help="requests per path, handler and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    stack = Stack(args.backend, name="web")
    stack.setup_django()
    try:
        from django.contrib.auth import get_user_model

        from trading.tokens import token_create

        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-1")
        token = token_create(user=user, name="bench")[1]
        print_header("web overhead", args.backend)
        samples = {(handler, path): [] for handler in HANDLERS for path in ("/api/health", "/api/orders?limit=1")}
        for _ in range(args.rounds):
            for handler, app in HANDLERS.items():
                stack.start_web(app)
                for path in ("/api/health", "/api/orders?limit=1"):
                    for _ in range(20):  # warm: imports, the first connection
                        timed_get(stack.web_port, path, token)
                    samples[(handler, path)] += [timed_get(stack.web_port, path, token) for _ in range(args.n)]
                stack.stop("web")
        for (handler, path), ms in samples.items():
            print(f"{path:<22} {handler:<8} p50 {percentile(ms, 50):.2f} ms  p95 {percentile(ms, 95):.2f} ms  (n={len(ms)})")
        print(f"load average at end: {load_average()}")
    finally:
        stack.teardown()


if __name__ == "__main__":
    main()
