"""Run ib_insync's example notebooks headless against a paper gateway and count the cells.

The notebooks are not project code (they live in ``../shared/conformance/ib_insync-notebooks/``);
this runner starts a paper gateway on a free port, executes each notebook cell by cell in a
Jupyter kernel with a per-cell timeout, and prints per notebook how many code cells passed,
failed and were skipped. The only change made to a notebook, in memory, is the port it connects
to (they are written for TWS's 7497).

The kernel runs in its own virtualenv, ``.venv-notebooks/`` (nbclient, ipykernel, matplotlib and
ib_insync from ``requirements-notebooks.txt``; created on first use), so the project's venv gains
no Jupyter stack::

    .venv/bin/python bench/conformance.py [--notebooks DIR] [--only basics,ordering] \\
        [--cell-timeout 60] [--calendar XNYS] [--json]

A cell is *passed* when it runs without an error, *failed* when it raises or times out, and
*skipped* when the kernel had to be restarted after a timeout (the cells after it in that notebook
are not run) or it is empty.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv-notebooks"
NOTEBOOKS = REPO.parent.parent / "shared" / "conformance" / "ib_insync-notebooks"
if not NOTEBOOKS.exists():  # a worktree under /work/wt/<name>, or the main checkout /work/main
    NOTEBOOKS = REPO.parent / "shared" / "conformance" / "ib_insync-notebooks"
DEFAULT = ("basics", "ordering", "bar_data", "contract_details", "option_chain", "tick_data", "market_depth")
TWS_PORT = "7497"


def notebook_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        requirements = REPO / "requirements-notebooks.txt"
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True)
    return python


def execute(path: Path, port: int, cell_timeout: float) -> dict:
    """Run one notebook cell by cell (inside .venv-notebooks); the counts and the failures."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = cell.source.replace(TWS_PORT, str(port))
    client = NotebookClient(notebook, timeout=cell_timeout, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})  # fmt: skip
    counts = {"passed": 0, "failed": 0, "skipped": 0, "failures": []}
    with client.setup_kernel():
        dead = False
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            if dead or not cell.source.strip():
                counts["skipped"] += 1
                continue
            started = time.monotonic()
            try:
                client.execute_cell(cell, index)
                counts["passed"] += 1
            except CellExecutionError as exc:
                counts["failed"] += 1
                counts["failures"].append({"cell": index, "error": _first_line(str(exc), cell.source)})
            except (CellTimeoutError, DeadKernelError) as exc:
                counts["failed"] += 1
                counts["failures"].append({"cell": index, "error": f"{type(exc).__name__} after "
                                           f"{time.monotonic() - started:.0f}s: {cell.source.splitlines()[0]}"})  # fmt: skip
                dead = True
    return counts


def _first_line(text: str, source: str) -> str:
    lines = [line for line in text.splitlines() if "Error" in line or "assert" in line]
    return f"{source.splitlines()[0][:60]!r}: {(lines[-1] if lines else text.splitlines()[-1])[:200]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS)
    parser.add_argument("--only", default=",".join(DEFAULT), help="comma-separated notebook names")
    parser.add_argument("--cell-timeout", type=float, default=60.0)
    parser.add_argument("--calendar", default=None, help="run the gateway with this exchange calendar")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.add_argument("--execute", type=Path, help=argparse.SUPPRESS)  # internal: one notebook
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.execute:
        print(json.dumps(execute(args.execute, args.port, args.cell_timeout)))
        return 0

    sys.path.insert(0, str(REPO))
    from trading.ibsim.threaded import run_in_thread

    python = notebook_python()
    results = {}
    settings = {"port": 0, "tick_interval": 0.25}
    if args.calendar:
        settings["calendar"] = args.calendar
    with run_in_thread(**settings) as gateway:
        for name in [n.strip() for n in args.only.split(",") if n.strip()]:
            path = args.notebooks / f"{name}.ipynb"
            started = time.monotonic()
            done = subprocess.run(
                [str(python), __file__, "--execute", str(path), "--port", str(gateway.port),
                 "--cell-timeout", str(args.cell_timeout)],
                capture_output=True, text=True, cwd=path.parent,
            )  # fmt: skip
            if done.returncode != 0:
                results[name] = {"passed": 0, "failed": 0, "skipped": 0,
                                 "failures": [{"cell": None, "error": done.stderr.strip().splitlines()[-1:]}]}  # fmt: skip
            else:
                results[name] = json.loads(done.stdout.strip().splitlines()[-1])
            results[name]["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for name, result in results.items():
        total = result["passed"] + result["failed"] + result["skipped"]
        print(f"{name:18} passed {result['passed']:2}  failed {result['failed']:2}  skipped {result['skipped']:2}"
              f"  of {total:2} code cells  ({result['seconds']}s)")  # fmt: skip
        for failure in result["failures"]:
            print(f"    cell {failure['cell']}: {failure['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
