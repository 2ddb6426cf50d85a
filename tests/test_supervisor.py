"""`up`'s supervisor notices every child's exit — even a parent SIGKILLed while the children it forked
keep its stdout open, as q2's workers do — kills what the child left behind, and restarts it."""

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

from console.supervisor import Program, Supervisor
from tests.harness import until

# A parent that forks a child sharing its stdout, then both wait: q2's cluster in miniature.
FORKING_PARENT = """
import os, time
if os.fork() == 0:
    print(f"child {os.getpid()}", flush=True)
else:
    print(f"parent {os.getpid()}", flush=True)
time.sleep(120)
"""


class Lines:
    """The supervisor's output, kept for the test."""

    def __init__(self):
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text()  # a zombie is dead; only its parent has not reaped it yet
    except FileNotFoundError:
        return False


def test_a_child_killed_while_its_orphans_hold_its_stdout_is_noticed_cleaned_up_and_restarted():
    out = Lines()

    async def scenario():
        supervisor = Supervisor([Program("cluster", [sys.executable, "-c", FORKING_PARENT])], out=out, backoff_first=0.1)
        running = asyncio.create_task(supervisor.run())
        try:
            await until(lambda: "parent" in out.text and "child" in out.text, what="the parent and its child to start")
            parent, child = (int(re.search(rf"{who} (\d+)", out.text).group(1)) for who in ("parent", "child"))
            os.kill(parent, signal.SIGKILL)

            await until(lambda: "cluster exited with code -9; restart #1" in out.text, what="the exit to be noticed")
            await until(lambda: out.text.count("started cluster (pid") == 2, what="the restart")
            await until(lambda: not alive(child), what="the orphan to be killed with its group")
        finally:
            supervisor.stopping.set()
            await asyncio.wait_for(running, 30)

    asyncio.run(scenario())
    assert "all processes stopped" in out.text
