"""The IB worker's own `/metrics`, on a port of its own (`METRICS_PORT`, `ibworker --metrics-port`).

    WorkerMetrics(worker)  ──bind(ib)──▶ counts IB events, times order acknowledgements (on the loop:
                                         a dict increment per event, nothing else)
                           ──start()──▶ MetricsServer: a threaded WSGI server (stdlib wsgiref) on
                                         127.0.0.1 by default; each scrape runs on its own thread and
                                         reads the worker's counters there, never on the event loop
                           ──stop()───▶ the server shuts down with the worker

Families (`ibworker_` prefix; labels `client_id` on the connection figures):
- `ibworker_info{client_id,gateway,mode,owner}`, `ibworker_connection_state{client_id,state}` (1 for
  the current state), `ibworker_connected{client_id}` (connected and synced), `ibworker_connects_total`;
- `ibworker_lease_token`, `ibworker_lease_lost`: this process's owner lease;
- `ibworker_ib_events_total{event}`: events received from IB (before any is skipped or coalesced);
- `ibworker_recorder_writes_total{op}` (writes committed, after coalescing), `…_batches_total`,
  `…_coalesced_total`, `…_retries_total`, `…_dead_letters_total`, `ibworker_recorder_queue_depth`,
  `ibworker_recorder_lag_seconds` (how long the oldest event not yet written has waited);
- `ibworker_broadcast_{sent,failed,dropped,coalesced}_total`: live pushes to the dashboard;
- `ibworker_loop_lag_seconds`: the last event-loop lag probe;
- `ibworker_order_ack_seconds` (histogram), `ibworker_orders_awaiting_ack`: see OrderAckTimer;
- `process_*`: this process's CPU, memory and open files.

Why not prometheus_client's `start_http_server`: it cannot refuse a request, and /metrics must be
protected like the API (trading/observability/access.py); its WSGI app is served here behind that check.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections import Counter
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Histogram, ProcessCollector, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer

from trading.observability.access import metrics_access

log = logging.getLogger("trading.observability")

# The ib_insync events the worker records or acts on (trading/worker/events.py, pnl.py, service.py).
COUNTED_EVENTS = {
    "openOrderEvent": "openOrder",
    "orderStatusEvent": "orderStatus",
    "execDetailsEvent": "execDetails",
    "commissionReportEvent": "commissionReport",
    "positionEvent": "position",
    "updatePortfolioEvent": "updatePortfolio",
    "accountValueEvent": "accountValue",
    "pnlEvent": "pnl",
    "pnlSingleEvent": "pnlSingle",
    "errorEvent": "error",
}
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_AWAITING_ACK = 10_000  # orders sent and not yet acknowledged that are remembered (a bound, not a limit)
STATES = ("starting", "connecting", "syncing", "connected", "ib_link_down", "disconnected", "stopped")


class OrderAckTimer:
    """Send-to-acknowledge latency of the new orders this worker places, from ib_insync's trade log.

    `placeOrder` writes the trade's first log entry (PendingSubmit) right after the order's bytes are
    handed to the socket; the gateway's first answer for that order (an orderStatus, or an error that
    cancels it) appends the next entry, stamped when its bytes arrived (`wrapper.lastTime`). Both times
    come from this process's clock, so their difference is the round trip through the gateway (and IB,
    for a real one) plus this loop's delay in reading the answer. Modifications and orders of other
    clients are not timed. An order sent when the connection drops is forgotten (reconciliation finds it)."""

    def __init__(self):
        self.histogram = Histogram(
            "ibworker_order_ack_seconds",
            "New orders placed by this worker: from sending to the gateway's first answer (ib_insync trade log).",
            buckets=ACK_BUCKETS,
            registry=None,
        )
        self.awaiting: dict[tuple, object] = {}

    def bind(self, ib) -> None:
        ib.newOrderEvent += self._sent
        ib.orderStatusEvent += self._answered
        ib.disconnectedEvent += self._forget

    def _forget(self) -> None:
        self.awaiting.clear()

    def _sent(self, trade) -> None:
        if len(self.awaiting) >= MAX_AWAITING_ACK:
            self.awaiting.pop(next(iter(self.awaiting)))
        if trade.log:
            self.awaiting[(trade.order.clientId, trade.order.orderId)] = trade.log[0].time

    def _answered(self, trade) -> None:
        sent_at = self.awaiting.pop((trade.order.clientId, trade.order.orderId), None)
        if sent_at is not None and len(trade.log) > 1:
            self.histogram.observe(max(0.0, (trade.log[-1].time - sent_at).total_seconds()))


class WorkerMetrics:
    """The worker's registry; its collector reads the worker's own counters when scraped."""

    def __init__(self, worker):
        self.worker = worker
        self.events: Counter[str] = Counter()
        self.acks = OrderAckTimer()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_WorkerCollector(self))
        self.registry.register(self.acks.histogram)
        ProcessCollector(registry=self.registry)
        self.server: MetricsServer | None = None

    def bind(self, ib) -> None:
        for attribute, label in COUNTED_EVENTS.items():
            getattr(ib, attribute).connect(_EventCount(self.events, label), keep_ref=True)
        self.acks.bind(ib)

    def start(self, *, host: str, port: int | None) -> None:
        """Serve /metrics when a port is configured (0: any free port). A port that cannot be bound is
        logged and the worker trades on: metrics must never be the reason orders stop."""
        if port is None:
            return
        server = MetricsServer(self.registry, host=host, port=port)
        try:
            server.start()
        except OSError as exc:
            log.error("metrics not served on %s:%s: %s", host, port, exc.strerror or exc)
            return
        self.server = server
        log.info("metrics on http://%s:%s/metrics", host if ":" not in host else f"[{host}]", server.port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


class _EventCount:
    """An ib_insync event listener that only counts (connected with keep_ref: eventkit holds callable
    objects weakly otherwise, and nothing else holds this one)."""

    def __init__(self, counts: Counter, label: str):
        self.counts, self.label = counts, label

    def __call__(self, *args) -> None:
        self.counts[self.label] += 1


class _WorkerCollector:
    def __init__(self, metrics: WorkerMetrics):
        self.metrics = metrics

    def collect(self):
        w = self.metrics.worker
        o, recorder, broadcaster = w.options, w.recorder, w.broadcaster
        cid = str(o.client_id)
        info = GaugeMetricFamily("ibworker_info", "This worker (always 1).", labels=["client_id", "gateway", "mode", "owner"])
        info.add_metric([cid, f"{o.host}:{o.port}", w.mode, w.lease.owner], 1)
        yield info
        state = GaugeMetricFamily(
            "ibworker_connection_state", "1 for the connection's current state.", labels=["client_id", "state"]
        )
        for name in STATES:
            state.add_metric([cid, name], 1 if w.state == name else 0)
        yield state
        yield _gauge(
            "ibworker_connected", "1 while connected to the gateway, reconciled and taking runs.", cid, 1 if w.synced else 0
        )
        yield _counter("ibworker_connects", "Successful connections to the gateway since start.", cid, w.connects)
        yield _gauge("ibworker_lease_token", "The fencing token of this worker's owner lease.", cid, w.lease.token)
        yield _gauge(
            "ibworker_lease_lost",
            "1 once another worker took this one's lease over (it is stopping).",
            cid,
            1 if w.lease.lost else 0,
        )
        events = CounterMetricFamily("ibworker_ib_events", "Events received from IB, by event.", labels=["event"])
        for label, count in sorted(self.metrics.events.copy().items()):
            events.add_metric([label], count)
        yield events
        yield from _recorder_families(recorder)
        for name, value, text in (
            ("sent", broadcaster.sent, "Live events pushed to the dashboard's Channels group."),
            ("failed", broadcaster.failed, "Live events whose push failed (Redis unavailable)."),
            ("dropped", broadcaster.dropped, "Live pushes a web process's full channel queue refused (its pages resync)."),
            ("coalesced", broadcaster.coalesced, "Stream updates replaced by a newer one before being pushed."),
        ):
            yield CounterMetricFamily(f"ibworker_broadcast_{name}", text, value=value)
        yield GaugeMetricFamily("ibworker_loop_lag_seconds", "The last event-loop lag probe.", value=w.lag.last_ms / 1000)
        yield GaugeMetricFamily(
            "ibworker_orders_awaiting_ack",
            "New orders sent and not yet answered by the gateway.",
            value=len(self.metrics.acks.awaiting),
        )


def _recorder_families(recorder):
    stats = recorder.stats
    writes = CounterMetricFamily(
        "ibworker_recorder_writes", "Writes committed by the recorder, by operation (after coalescing).", labels=["op"]
    )
    for op, count in sorted(recorder.written_ops.copy().items()):
        writes.add_metric([op], count)
    yield writes
    yield CounterMetricFamily("ibworker_recorder_batches", "Transactions committed by the recorder.", value=stats.batches)
    yield CounterMetricFamily(
        "ibworker_recorder_coalesced", "Queued events folded into a later one of the same key.", value=stats.coalesced
    )
    yield CounterMetricFamily(
        "ibworker_recorder_retries", "Batches retried because the database was unavailable.", value=stats.retries
    )
    yield CounterMetricFamily(
        "ibworker_recorder_dead_letters",
        "Events that could not be written (kept in the dead-letter file).",
        value=stats.dead_letters,
    )
    yield GaugeMetricFamily("ibworker_recorder_queue_depth", "Events queued for the recorder.", value=recorder.queue.qsize())
    yield GaugeMetricFamily(
        "ibworker_recorder_lag_seconds", "How long the oldest event not yet written has waited.", value=recorder.lag_seconds()
    )
    yield GaugeMetricFamily(
        "ibworker_recorder_last_commit_seconds", "Duration of the recorder's last transaction.", value=stats.last_commit_ms / 1000
    )


def _gauge(name: str, text: str, client_id: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, text, labels=["client_id"])
    family.add_metric([client_id], value)
    return family


def _counter(name: str, text: str, client_id: str, value: float) -> CounterMetricFamily:
    family = CounterMetricFamily(name, text, labels=["client_id"])
    family.add_metric([client_id], value)
    return family


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 - the stdlib's signature
        pass  # a scrape every 15 s is not worth a log line


class MetricsServer:
    """prometheus_client's WSGI app behind the access rule, on a threaded stdlib server of its own."""

    def __init__(self, registry: CollectorRegistry, *, host: str = "127.0.0.1", port: int = 0):
        self.registry, self.host, self.requested_port = registry, host, port
        self.httpd = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_port

    def start(self) -> None:
        server_class = type("MetricsHTTPServer", (ThreadingWSGIServer,), {"address_family": _family(self.host)})
        self.httpd = make_server(
            self.host, self.requested_port, guarded_app(make_wsgi_app(self.registry)), server_class, _QuietHandler
        )
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="metrics-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self._thread.join(5)


def guarded_app(app):
    """A WSGI app that answers /metrics (and /) through `app` once the access rule allows the caller."""

    def guarded(environ, start_response):
        if environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
            return _json(start_response, 404, "not_found", "metrics are at /metrics")
        try:
            refusal = metrics_access(environ)
        finally:
            _close_db_connections()  # a token check used this request thread's own connection
        if refusal is not None:
            return _json(start_response, refusal.status, refusal.code, refusal.detail)
        return app(environ, start_response)

    return guarded


def _json(start_response, status: int, code: str, detail: str):
    reason = {401: "Unauthorized", 404: "Not Found", 503: "Service Unavailable"}.get(status, "Error")
    headers = [("Content-Type", "application/json")]
    if status == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="metrics"'))
    start_response(f"{status} {reason}", headers)
    return [json.dumps({"error": code, "detail": detail}).encode()]


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _close_db_connections() -> None:
    from django.db import connections

    connections.close_all()
