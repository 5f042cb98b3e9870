"""Prometheus metrics, on a registry of the app's own.

Label values are bounded and name no tenant, trigger or customer: methods, routes as declared,
statuses, the five ingest types, the four action types and a few outcomes.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Labelled:
    """A metric's children by label values. prometheus_client's labels() checks and locks on every
    call, and a request makes several: after the first, this is one dict look-up."""

    def __init__(self, metric):
        self.metric = metric
        self._children: dict[tuple, object] = {}

    def __call__(self, *values: str):
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self.metric.labels(*values)
        return child


FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("tripcord_http_requests", "HTTP requests", ["method", "route", "status"], registry=r)
        self.latency = Histogram("tripcord_http_request_duration_seconds", "HTTP request latency",
                                 ["method", "route"], buckets=FAST_BUCKETS, registry=r)
        self.ingest_latency = Histogram("tripcord_ingest_duration_seconds", "Ingest latency, end to end",
                                        buckets=FAST_BUCKETS, registry=r)
        self.events = Counter("tripcord_events_ingested", "Events ingested", ["type"], registry=r)
        self.fires = Counter("tripcord_trigger_fires", "Trigger fires", ["action_type"], registry=r)
        self.suppressions = Counter("tripcord_trigger_suppressions", "Matching triggers held back",
                                    ["reason"], registry=r)
        self.dispatches = Counter("tripcord_dispatch_outcomes", "Dispatch attempt outcomes",
                                  ["action_type", "outcome"], registry=r)
        self.stream = Counter("tripcord_stream_publishes", "Event stream publish outcomes", ["outcome"], registry=r)
        self.relay_lag = Gauge("tripcord_relay_lag_seconds",
                               "Age of the oldest event the relay has not seen settled", registry=r)
        self.relay_backlog = Gauge("tripcord_relay_backlog_events", "Events past the relay's checkpoint",
                                   registry=r)
        self.request_count, self.request_latency = Labelled(self.requests), Labelled(self.latency)
        self._events, self._fires = Labelled(self.events), Labelled(self.fires)
        self._suppressions = Labelled(self.suppressions)
        self._dispatches, self._stream = Labelled(self.dispatches), Labelled(self.stream)
        self.batch = Histogram("tripcord_commit_batch_size", "Units of work per commit",
                               buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=r)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    # The application's Observer port.

    def ingested(self, event_type: str, seconds: float) -> None:
        self._events(event_type).inc()
        self.ingest_latency.observe(seconds)

    def fired(self, action_type: str) -> None:
        self._fires(action_type).inc()

    def suppressed(self, reason: str) -> None:
        self._suppressions(reason).inc()

    def dispatched(self, action_type: str, outcome: str) -> None:
        self._dispatches(action_type, outcome).inc()

    def published(self, outcome: str) -> None:
        self._stream(outcome).inc()
