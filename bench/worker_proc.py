"""``manage.py ibworker`` as the benchmarks run it, plus a measurement hook that changes nothing:
after each recorder transaction commits, the orders and fills in it are stamped with ``time.time()``.
The stamps are written to ``$BENCH_OUT/recorder-<pid>.json`` when the worker exits (SIGTERM)."""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

STAMPS: dict = {"fills": [], "orders": [], "batches": [], "ops": {}}


def _install_hook() -> None:
    from trading.worker.recorder import Recorder

    write_batch = Recorder._write_batch

    keep = os.environ.get("BENCH_STAMPS", "1") != "0"

    def stamped(self, batch):
        results = write_batch(self, batch)
        if not keep:
            return results
        now = time.time()
        STAMPS["batches"].append((now, len(batch)))
        for op in batch:
            STAMPS["ops"][op.apply.__name__] = STAMPS["ops"].get(op.apply.__name__, 0) + 1
            snap = op.kwargs.get("snap") or {}
            if "exec_id" in snap and "shares" in snap:
                STAMPS["fills"].append((snap["exec_id"], now))
            elif "perm_id" in snap and "status" in snap:
                STAMPS["orders"].append((snap["perm_id"], snap["status"], now))
        return results

    Recorder._write_batch = stamped


def _dump() -> None:
    out = os.environ.get("BENCH_OUT")
    if out:
        Path(out, f"recorder-{os.getpid()}.json").write_text(json.dumps(STAMPS))


if __name__ == "__main__":
    import django

    django.setup()
    _install_hook()
    atexit.register(_dump)
    from django.core.management import call_command

    try:
        call_command("ibworker", *sys.argv[1:])
    except SystemExit:
        pass
