"""The console's SQLite file runs in WAL mode and survives django-q2's forks (console/env.py
sqlite_fork_guard): a forked child never writes through a connection it inherited."""

import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = Path(__file__).with_name("sqlite_fork_child.py")


def test_a_forked_childs_write_is_kept_after_its_parent_let_go_of_the_file(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/fork.sqlite3", CONSOLE_VAR_DIR=str(tmp_path / "var"))
    done = subprocess.run([sys.executable, str(CHILD)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["journal"] == "wal"
    assert outcome["child_exit"] == 0
    # Through the inherited connection the child's commit went to the deleted log: only "parent" remained.
    assert outcome["rows"] == ["parent", "child"]
    assert outcome["integrity"] == "ok"
