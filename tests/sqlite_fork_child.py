"""A forked child writes through Django after its parent has let go of the SQLite file: for
tests/test_sqlite_fork.py, which runs this file as a process of its own on a scratch SQLite file::

    DATABASE_URL=sqlite:////tmp/x.sqlite3 python tests/sqlite_fork_child.py   # prints JSON

What django-q2 does to the console's file: a process with an open connection forks (the child inherits
the connection), and the parent closes its connection (CONN_MAX_AGE 0) while nobody else has the file
open. In WAL mode the parent's close checkpoints and deletes the -wal file. A child that then writes
through the connection it inherited writes to the deleted log: its commit succeeds and is lost.
"""

import json
import multiprocessing
import os
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402


def child(go, done) -> None:
    go.wait(30)
    with connection.cursor() as cursor:  # Django's connection of this thread: the inherited one, or a new one
        cursor.execute("INSERT INTO fork_probe (written_by) VALUES ('child')")
    done.set()  # and leave without closing, as a q2 process that is stopped or killed does


def main() -> None:
    path = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE fork_probe (id INTEGER PRIMARY KEY, written_by TEXT)")
        cursor.execute("INSERT INTO fork_probe (written_by) VALUES ('parent')")
        journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    context = multiprocessing.get_context("fork")
    go, done = context.Event(), context.Event()
    process = context.Process(target=child, args=(go, done))
    process.start()
    connection.close()  # the file's last connection in any process: the log is checkpointed and deleted
    go.set()
    process.join(30)
    reader = sqlite3.connect(path)
    try:
        rows = [row[0] for row in reader.execute("SELECT written_by FROM fork_probe ORDER BY id")]
        integrity = reader.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        reader.close()
    print(json.dumps({"journal": journal, "rows": rows, "integrity": integrity, "child_exit": process.exitcode}))


if __name__ == "__main__":
    main()
