"""What the reads every API call makes cost in process (no HTTP, no other process competing)::

    python bench/hot_reads.py --backend sqlite [-n 2000]

On a fresh database with one superuser and one token: the token check through the ORM's queryset
(as it was) and through `trading.dbreads.ModelRead` (as it is: `token_authenticate`), and, for
comparison, the submission's other reads (`Routing`, `effective_config`). Prints the mean of each in
microseconds. The ORM's and the written-once reads give the same instances (tests/test_dbreads.py).
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

        from trading.config import effective_config
        from trading.intents.runs import Routing
        from trading.models import ApiToken
        from trading.tokens import token_authenticate, token_create, token_hash

        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-1")
        plaintext = token_create(user=user, name="bench")[1]
        hashed = token_hash(plaintext)

        def orm_token():
            return ApiToken.objects.select_related("user").filter(token_hash=hashed, revoked_at__isnull=True, user__is_active=True).first()

        reads = {
            "token check, ORM queryset (before)": orm_token,
            "token check, token_authenticate (ModelRead)": lambda: token_authenticate(plaintext),
            "Routing() (connections and heartbeats, 2 queries)": Routing,
            "effective_config() (1 query)": effective_config,
        }
        for name, read in reads.items():
            read()
            seconds = timeit.timeit(read, number=args.n) / args.n
            print(f"{name:55s} {seconds * 1e6:8.0f} µs")
    finally:
        stack.teardown()


if __name__ == "__main__":
    main()
