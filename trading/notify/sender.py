"""The one call into apprise. It runs in the q2 cluster only (trading/notify/tasks.py); never in the IB
worker's event loop, where a slow HTTP service would stall every IB event."""

from __future__ import annotations

import logging

from trading.notify.targets import secret_scrub

UNKNOWN_URL = "apprise does not recognise this URL (check its scheme and parts: https://github.com/caronc/apprise/wiki)"
FAILED = "the service did not accept the message (no detail from apprise)"
TIMEOUT_SECONDS = 10


def apprise_send(url: str, *, title: str, body: str, level: str = "info") -> tuple[bool, str]:
    """(delivered, error). The error is scrubbed of every piece of the URL."""
    import apprise

    # apprise's own log goes nowhere (console/settings.py LOGGING): what it says is read here, scrubbed.
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        notifier = apprise.Apprise()
        if not notifier.add(url):
            return False, UNKNOWN_URL
        result = notifier.notify(body=body or title, title=title, notify_type=level, timeout=TIMEOUT_SECONDS)
        output = captured.getvalue().strip()
    if result:
        return True, ""
    return False, secret_scrub(output.splitlines()[-1] if output else FAILED, url)[:500]
