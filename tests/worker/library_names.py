"""Where project code names the client library (ib_insync or ib_async) as a module: for
tests/worker/test_iblib.py, which runs this file as a process of its own::

    python tests/worker/library_names.py   # prints {"files": [...], "hits": [...], "seam": [...]} as JSON

A process of its own because CPython 3.11's ast module keeps one recursion counter for all threads:
an `ast.parse` here while another thread of the test process formats a traceback (3.11 parses the
failing line to place its carets) fails with "AST constructor recursion depth mismatch" (python/cpython
gh-106905), as it once did in CI.
"""

import ast
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEAM = REPO / "trading" / "iblib.py"
# Project code. Not checked: trading/ibsim (the paper gateway, a server: it imports neither library),
# tests/, and the users' folders handlers/ and intents/, whose examples import ib_insync as a user's
# file does (the alias serves them on ib_async).
PROJECT = ["trading", "console", "bench", "dev.py", "manage.py", "conftest.py"]
NOT_PROJECT = [REPO / "trading" / "ibsim"]
LIBRARY_NAME = re.compile(r"^ib_(insync|async)(\.\w+)*$")


def project_files() -> list[Path]:
    files = []
    for entry in PROJECT:
        path = REPO / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [f for f in files if f != SEAM and not any(f.is_relative_to(skip) for skip in NOT_PROJECT)]


def library_names(path: Path) -> list[str]:
    """Where a file names the client library as a module: imports at any depth, and string literals
    such as import_module("ib_insync") or getLogger("ib_insync.client")."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value]
        else:
            continue
        found += [f"{path.relative_to(REPO)}:{node.lineno}: {name}" for name in names if LIBRARY_NAME.match(name)]
    return found


if __name__ == "__main__":
    files = project_files()
    print(json.dumps({
        "files": [str(f.relative_to(REPO)) for f in files],
        "hits": [hit for path in files for hit in library_names(path)],
        "seam": library_names(SEAM),
    }))  # fmt: skip
