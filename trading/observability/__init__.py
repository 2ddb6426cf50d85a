"""Prometheus metrics for the web processes and each IB worker (docs/DEPLOY.md has the alert rules).

- `access.py`: who may scrape — an API token or a request from this host (the same rule for both).
- `web.py`: the web's `/metrics`, figures read from the database at scrape time (runs by status and
  their durations, each worker's heartbeat, each client id's owner lease), so every web process behind
  one address answers the same and a worker on another host is seen through the rows it writes.
- `worker.py`: the worker's own process figures (connection state, IB events received, recorder
  writes/queue/lag, broadcast drops, order send-to-acknowledge latency) on a port of its own, served
  from a thread so a scrape never runs on the worker's event loop.

Both read counters the code already keeps (RecorderStats, Broadcaster, the heartbeat row) when
scraped, instead of instrumenting the hot paths again: a scrape costs the worker nothing between scrapes.
"""
