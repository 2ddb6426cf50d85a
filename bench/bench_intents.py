"""Intent latency against a warm worker, side by side with a connect-per-request script.

Through the console: ``POST /api/intents/summary?wait=30`` and ``POST /api/intents/close_all?wait=120``
(flattening 50 positions) over HTTP to the web process (daphne), which submits through the one
submission path; django-q2 hands the run to the IB worker, which runs it on its open connection.
The alternative: ``bench/per_request_script.py`` as a fresh process per request (interpreter start,
ib_insync import, connect and full sync, the same work, disconnect). Prints p50/p95 and the ratio.

The API's summaries and the script's alternate, one of each in turn (close_all's too): the machine's
speed drifts by a third within an hour here, and measured in two blocks a drift between them moved
the ratio as much as any change did. Alternating also keeps the API's calls apart: each summary sends
IB two messages (reqAccountSummary and its cancel) on the worker's one connection, and IB allows 50 a
second (ib_insync throttles at 45), so calls back to back (~35 a second) measured that pacing, not the
console (every ~22nd call waited up to 100 ms in the throttle)::

    python bench/bench_intents.py --backend sqlite [--quick] [--only summary] [-n 40]
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import ROOT, Stack, load_average, percentile, print_header, profile_start, wait_for  # noqa: E402
from trading import iblib  # noqa: E402

POSITIONS = 50


def api_call(stack: Stack, token: str, intent: str, body: dict, wait: float) -> tuple[float, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.web_port}/api/intents/{intent}?wait={wait}", data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=wait + 30) as response:
        run = json.loads(response.read())
    elapsed = time.perf_counter() - started
    if run.get("status") != "succeeded":
        raise RuntimeError(f"{intent} did not succeed: {run}")
    return elapsed, run


def script_call(stack: Stack, work: str, client_id: int) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "bench/per_request_script.py", work, "--port", str(stack.gateway_port), "--client-id", str(client_id)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return time.perf_counter() - started, json.loads(done.stdout.strip().splitlines()[-1])


def open_positions(stack: Stack) -> None:
    for i in range(POSITIONS):
        stack.control(f"external_trade BN{i:02d} {10 + i}")
    wait_for(lambda: len(stack.control("positions")) >= POSITIONS, timeout=30, what="50 positions at the gateway")


def flat(stack: Stack) -> bool:
    return not any(quantity for quantity in stack.control("positions").values())


def stats(samples: list[float]) -> dict:
    ms = [s * 1000 for s in samples]
    return {"n": len(ms), "p50": round(percentile(ms, 50), 1), "p95": round(percentile(ms, 95), 1), "max": round(max(ms), 1)}


def console_up(stack: Stack) -> str:
    """Start the console as this benchmark measures it (a paper gateway with POSITIONS more stocks, the
    web, the q2 cluster, the worker) and return a superuser's API token (the other `summary` benchmarks
    start it so too)."""
    from django.contrib.auth import get_user_model

    from trading.tokens import token_create

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-1")
    token = token_create(user=user, name="bench")[1]
    stack.start_gateway(tick_interval=0.25, extra_stocks=POSITIONS, master=False)
    stack.start_web()
    stack.start_cluster()
    stack.start_worker()
    return token


def run(stack: Stack, quick: bool, profile: bool = False, only: str | None = None, repeats: int | None = None) -> dict:
    token = console_up(stack)
    repeats, flattens = (5, 1) if quick else (repeats or 20, 3)

    api_call(stack, token, "summary", {}, 30)  # warm: the first run imports and connects everything
    result = {"load_start": load_average()}
    api, script = [], []
    for i in range(repeats):  # in turn: both sides see the machine as it is at that moment
        api.append(api_call(stack, token, "summary", {}, 30)[0])
        script.append(script_call(stack, "summary", 100 + i)[0])
    result["summary_api"], result["summary_script"] = stats(api), stats(script)
    if only == "summary":
        result["load_end"] = load_average()
        return result

    api, script = [], []
    for i in range(flattens):
        open_positions(stack)
        if profile and i == 0:
            profile_start(stack, "worker", "close_all", 15)
        elapsed, run_row = api_call(stack, token, "close_all", {"dryRun": False}, 120)
        wait_for(lambda: flat(stack), timeout=60, what="flat after close_all")
        assert len(run_row["result"]["closed"]) == POSITIONS, run_row["result"]
        api.append(elapsed)
        open_positions(stack)
        elapsed, outcome = script_call(stack, "close_all", 200 + i)
        assert outcome["filled"] == POSITIONS, outcome
        wait_for(lambda: flat(stack), timeout=60, what="flat after the script")
        script.append(elapsed)
    result["close_all_api"] = stats(api)
    result["close_all_script"] = stats(script)
    result["load_end"] = load_average()
    return result


def report(result: dict) -> None:
    for work in ("summary", "close_all"):
        if f"{work}_api" not in result:
            continue
        api, script = result[f"{work}_api"], result[f"{work}_script"]
        what = "summary" if work == "summary" else f"close_all flattening {POSITIONS} positions"
        print(f"{what}: console API p50 {api['p50']} ms p95 {api['p95']} ms (n={api['n']}); "
              f"connect-per-request script p50 {script['p50']} ms p95 {script['p95']} ms (n={script['n']}); "
              f"ratio (script/API) p50 {script['p50'] / api['p50']:.1f}x p95 {script['p95'] / api['p95']:.1f}x")  # fmt: skip
    print(f"load average: {result['load_start']} at start, {result['load_end']} at end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="also write the result here")
    parser.add_argument("--profile", action="store_true", help="py-spy the worker during the first close_all")
    parser.add_argument("--only", choices=("summary",), help="measure only this job (summary: skips close_all)")
    parser.add_argument("-n", type=int, help="summaries per side (default 20)")
    args = parser.parse_args()
    logging.getLogger(iblib.LOGGER).setLevel(logging.WARNING)
    stack = Stack(args.backend, name="intents")
    stack.setup_django()
    print_header("intent latency", args.backend)
    try:
        result = run(stack, args.quick, args.profile, args.only, args.n)
    finally:
        stack.teardown()
    report(result)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"backend": args.backend, **result}, out, indent=1)


if __name__ == "__main__":
    main()
