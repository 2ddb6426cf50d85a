"""The same gateway driven by ib_async, a second client implementation, in its own virtualenv."""

import json
import subprocess
import sys
from pathlib import Path

from trading.ibsim.testing import run_in_thread

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv-ibasync"
SCENARIO = Path(__file__).with_name("ib_async_scenario.py")


def ib_async_python() -> Path:
    """The ib_async virtualenv's python, creating the venv from requirements-ibasync.txt if missing."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        requirements = REPO / "requirements-ibasync.txt"
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True)
    return python


def test_ib_async_connects_qualifies_trades_and_reads_the_account():
    python = ib_async_python()
    with run_in_thread(port=0, tick_interval=0.05) as gateway:
        done = subprocess.run(
            [str(python), str(SCENARIO), str(gateway.port)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert gateway.executions()[0]["order_ref"] == "ib_async"

    assert result["connected"] is True and result["server_version"] == 176
    assert result["qualified_con_id"] == 756733
    assert (result["status"], result["filled"]) == ("Filled", 7)
    assert result["commission"] == 1.0
    assert {"NetLiquidation", "AvailableFunds", "BuyingPower"} <= set(result["summary_tags"])
    assert result["positions"] == {"SPY": 7}
    assert result["bars"] > 0
