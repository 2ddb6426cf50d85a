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


def _memtrace(path: str, snapshots_at: tuple[float, ...]) -> None:
    """A daemon thread: every 30 s one JSON line — RSS, the Python heap (allocated blocks; tracemalloc when
    BENCH_TRACEMALLOC=1), glibc's own view of the C heap (mallinfo2), gc counts, live objects — and a
    tracemalloc snapshot at each of `snapshots_at` seconds. Bench only (BENCH_MEMTRACE=<dir>)."""
    import collections
    import ctypes
    import gc
    import threading
    import tracemalloc

    import psutil

    class Mallinfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]  # fmt: skip

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = Mallinfo2
    process, began, out = psutil.Process(), time.time(), Path(path)
    pending, snapshot_types = sorted(snapshots_at), sorted(snapshots_at)

    def loop():
        while True:
            t = time.time() - began
            info = libc.mallinfo2()
            line = {"t": round(t), "rss_mb": round(process.memory_info().rss / 2**20, 2),
                    "py_blocks": sys.getallocatedblocks(), "gc_count": gc.get_count(),
                    "gc_collections": [g["collections"] for g in gc.get_stats()], "objects": len(gc.get_objects()),
                    "malloc_arena_mb": round(info.arena / 2**20, 2), "malloc_mmap_mb": round(info.hblkhd / 2**20, 2),
                    "malloc_in_use_mb": round(info.uordblks / 2**20, 2), "malloc_free_mb": round(info.fordblks / 2**20, 2),
                    "threads": threading.active_count()}  # fmt: skip
            if snapshot_types and t >= snapshot_types[0]:  # what the Python heap holds, by type (cheap, no tracemalloc)
                snapshot_types.pop(0)
                kinds = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
                line["types"] = dict(kinds.most_common(40))
            if tracemalloc.is_tracing():
                line["traced_mb"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 2)
                while pending and t >= pending[0]:
                    tracemalloc.take_snapshot().dump(str(out / f"snapshot-{int(pending.pop(0))}.tracemalloc"))
            with (out / "memtrace.jsonl").open("a") as f:
                f.write(json.dumps(line) + "\n")
            time.sleep(30.0)  # the sampling cadence

    threading.Thread(target=loop, name="bench-memtrace", daemon=True).start()


def _dump() -> None:
    out = os.environ.get("BENCH_OUT")
    if out:
        Path(out, f"recorder-{os.getpid()}.json").write_text(json.dumps(STAMPS))


if __name__ == "__main__":
    import django

    django.setup()
    _install_hook()
    if os.environ.get("BENCH_NO_MALLOC_TRIM") == "1":  # the sweep as it was before it trimmed (a before/after bench)
        from trading.worker import retention

        retention._MALLOC_TRIM = None
    if os.environ.get("BENCH_MEMTRACE"):
        if os.environ.get("BENCH_TRACEMALLOC") == "1":
            import tracemalloc

            tracemalloc.start(int(os.environ.get("BENCH_TRACEMALLOC_FRAMES", "4")))
        _memtrace(os.environ["BENCH_MEMTRACE"], (75.0, 495.0))
    atexit.register(_dump)
    from django.core.management import call_command

    try:
        call_command("ibworker", *sys.argv[1:])
    except SystemExit:
        pass
