"""What the reads every API call makes cost in process (no HTTP, no other process competing)::

    python bench/hot_reads.py --backend sqlite [-n 2000]

On a fresh database with one superuser and one token, each read as it was (the ORM's querysets,
compiled on every call) and as it is (`trading.dbreads.ModelRead`, its SQL written once): the token
check, the submission's routing read and the settings rows `effective_config` reads. Prints the mean of
each in microseconds. Both give the same instances (tests/test_dbreads.py).
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import Stack, print_header  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("-n", type=int, default=2000)
    args = parser.parse_args()
    print_header("the reads of every API call, in process", args.backend)
    stack = Stack(args.backend, name="hotreads")
    stack.setup_django()
    try:
        from django.contrib.auth import get_user_model

        from trading.config import _ROWS_ALL, effective_config
        from trading.intents.runs import Routing
        from trading.models import DEFAULT_CONNECTION, ApiToken, IBConnection, TradingConfig, WorkerHeartbeat
        from trading.tokens import token_authenticate, token_create, token_hash
        from trading.worker.health import worker_name

        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-1")
        plaintext = token_create(user=user, name="bench")[1]
        hashed = token_hash(plaintext)

        def orm_token():
            return ApiToken.objects.select_related("user").filter(token_hash=hashed, revoked_at__isnull=True, user__is_active=True).first()

        def orm_routing():  # Routing's two queries as they were
            connections = {row.name: row for row in IBConnection.objects.order_by("name")}
            names = {worker_name(name) for name in (*connections, DEFAULT_CONNECTION)}
            return connections, {row.name: row for row in WorkerHeartbeat.objects.filter(name__in=names)}

        def orm_settings():  # effective_config's query as it was
            return list(TradingConfig.objects.all())

        reads = {
            "token check, ORM queryset (before)": orm_token,
            "token check, token_authenticate (now)": lambda: token_authenticate(plaintext),
            "routing read, ORM querysets (before)": orm_routing,
            "routing read, Routing() (now)": Routing,
            "settings rows, ORM queryset (before)": orm_settings,
            "settings rows, as effective_config reads them (now)": lambda: list(_ROWS_ALL([])),
            "effective_config() in all (now)": effective_config,
        }
        for name, read in reads.items():
            read()
            seconds = timeit.timeit(read, number=args.n) / args.n
            print(f"{name:55s} {seconds * 1e6:8.0f} µs")
    finally:
        stack.teardown()


if __name__ == "__main__":
    main()
