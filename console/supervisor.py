"""A small process supervisor for `manage.py up`: start in order, prefix logs, restart, stop together.

Why not a library: honcho (used before) stops every process when one exits — the opposite of what a
trading console needs when, say, the worker crashes — and supervisord wants a config file and a daemon
and does not prefix the children's output. What is here is only what `up` needs: ordered start with
readiness probes, name-prefixed output, restart with capped backoff (reset after a healthy minute),
and on Ctrl-C/SIGTERM a SIGTERM to every child (which stops its own children), then SIGKILL to its whole
process group after a grace period, so nothing it started outlives `up`.

A child's exit is noticed from its return code (set when the child watcher reaps it), never from
`process.wait()`: on Python 3.11 that also waits for the end of its stdout, which a killed parent's
orphaned children (q2's workers) keep open for ever. Whatever the exited child left in its process
group is killed before it is restarted.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

READY_TIMEOUT = 60.0
HEALTHY_AFTER = 60.0
EXIT_POLL = 0.1  # seconds between looks at a child's return code


@dataclass
class Program:
    name: str
    argv: list[str]
    ready: Callable[[], bool] | None = None  # polled after start; the next program waits for it
    env: dict | None = None
    restarts: int = 0
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)


class StartFailed(RuntimeError):
    pass


class Supervisor:
    def __init__(self, programs: list[Program], *, out=None, backoff_first: float = 1.0, backoff_cap: float = 30.0,
                 stop_timeout: float = 10.0):  # fmt: skip
        self.programs = programs
        self.out = out or sys.stdout
        self.backoff_first = backoff_first
        self.backoff_cap = backoff_cap
        self.stop_timeout = stop_timeout
        self.stopping = asyncio.Event()
        self.width = max(len(p.name) for p in programs)
        self._watchers: list[asyncio.Task] = []

    def say(self, name: str, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.out.write(f"{stamp} {name:<{self.width}} | {line}\n")
        self.out.flush()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            for program in self.programs:
                if self.stopping.is_set():
                    break
                await self._start(program)
                await self._wait_ready(program)
                self._watchers.append(asyncio.create_task(self._watch(program)))
            await self.stopping.wait()
        except StartFailed as exc:
            self.say("up", f"error: {exc}")
            await self._stop_all()
            return 1
        await self._stop_all()
        return 0

    def _on_signal(self, sig) -> None:
        if not self.stopping.is_set():
            self.say("up", f"{signal.Signals(sig).name} received: stopping everything")
        self.stopping.set()

    async def _start(self, program: Program) -> None:
        env = {**os.environ, **(program.env or {}), "PYTHONUNBUFFERED": "1"}
        program.process = await asyncio.create_subprocess_exec(
            *program.argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
            start_new_session=True,  # its own process group: stopping it stops its children too
        )  # fmt: skip
        self.say("up", f"started {program.name} (pid {program.process.pid})")
        asyncio.create_task(self._pump(program, program.process))

    async def _pump(self, program: Program, process) -> None:
        async for raw in process.stdout:
            self.say(program.name, raw.decode(errors="replace").rstrip())

    async def _wait_ready(self, program: Program) -> None:
        if program.ready is None:
            return
        deadline = time.monotonic() + READY_TIMEOUT
        while not await asyncio.to_thread(program.ready):
            if program.process.returncode is not None:
                raise StartFailed(f"{program.name} exited with code {program.process.returncode} while starting")
            if time.monotonic() > deadline or self.stopping.is_set():
                raise StartFailed(f"{program.name} was not ready within {READY_TIMEOUT:.0f}s")
            await asyncio.sleep(0.1)
        self.say("up", f"{program.name} is ready")

    async def _watch(self, program: Program) -> None:
        delay = self.backoff_first
        while True:
            started = time.monotonic()
            code = await _exited(program.process)
            if self.stopping.is_set():
                return
            _signal_group(program.process.pid, signal.SIGKILL)  # its orphans (q2 workers) go with it
            if time.monotonic() - started > HEALTHY_AFTER:
                delay = self.backoff_first
            program.restarts += 1
            self.say("up", f"{program.name} exited with code {code}; restart #{program.restarts} in {delay:.0f}s")
            try:
                await asyncio.wait_for(self.stopping.wait(), delay)
                return
            except TimeoutError:
                pass
            delay = min(delay * 2, self.backoff_cap)
            await self._start(program)

    async def _stop_all(self) -> None:
        """Stop in reverse start order, each before the next, so the worker still has Redis and the
        gateway while it shuts down cleanly."""
        self.stopping.set()
        for program in reversed(self.programs):
            process = program.process
            if process is None:
                continue
            if process.returncode is None:
                # SIGTERM to the child alone: a parent (the q2 cluster) stops its own workers in order;
                # signalled as a group it could not, and was killed after the timeout every time.
                _signal(process.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(_exited(process), self.stop_timeout)
                except TimeoutError:
                    self.say("up", f"{program.name} did not stop in {self.stop_timeout:.0f}s: killing it")
                    _signal_group(process.pid, signal.SIGKILL)
                    await _exited(process)
            # Anything the child left in its group (q2 workers, for instance) goes with it.
            _signal_group(process.pid, signal.SIGKILL)
        for task in self._watchers:
            task.cancel()
        self.say("up", "all processes stopped")


async def _exited(process: asyncio.subprocess.Process) -> int:
    """The child's exit code as soon as it has exited, whoever still holds its stdout."""
    while process.returncode is None:
        await asyncio.sleep(EXIT_POLL)
    return process.returncode


def _signal(pid: int, sig) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _signal_group(pid: int, sig) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
