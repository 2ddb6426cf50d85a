"""Every request of ib_insync's ``IB`` that waits for an answer gets one, from ib_insync and from
ib_async (in its own virtualenv): data, the empty answer, or an IB error both libraries end on."""

import json
import subprocess
import sys

import pytest

from tests.ibsim.test_ib_async import REPO, ib_async_python
from trading.ibsim.testing import run_in_thread

WALK = REPO / "tests" / "ibsim" / "request_walk.py"

# What a paper account without research subscriptions gets from IB (and from the gateway).
REFUSED = {
    "reqFundamentalDataAsync": "error 430",  # no fundamentals subscription
    "reqNewsArticleAsync": "error 10276",  # news feed not allowed
    "getWshMetaDataAsync": "error 10276",
    "getWshEventDataAsync": "error 10276",
    "requestFAAsync": "error 321",  # not an FA account (no request id: 321 is what IB sends)
}


@pytest.fixture(scope="module")
def gateway():
    with run_in_thread(port=0, tick_interval=0.05) as gateway:
        yield gateway


@pytest.mark.parametrize("library", ["ib_insync", "ib_async"])
def test_every_request_is_answered_within_its_deadline(gateway, library):
    python = sys.executable if library == "ib_insync" else str(ib_async_python())
    done = subprocess.run([python, str(WALK), library, str(gateway.port)], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    outcomes = result["outcomes"]

    assert result["unwalked"] == []
    assert len(outcomes) >= 38
    for name, outcome in outcomes.items():
        assert outcome == REFUSED.get(name, "answered"), (name, outcome)
