"""Prometheus metrics of one app, in a registry of their own (so several apps can live in one process)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10)
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_WAIT_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5)


class Metrics:
    """Requests, latency, verdicts, and the micro-batcher's queue and batch sizes (a ``BatchObserver``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("tinyguardrail_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=r)
        self.latency = Histogram("tinyguardrail_request_latency_seconds", "HTTP request latency", ["endpoint"],
                                 buckets=_LATENCY_BUCKETS, registry=r)
        self.verdicts = Counter("tinyguardrail_verdicts", "verdicts by label", ["label"], registry=r)
        self.early_exit = Counter("tinyguardrail_early_exit", "verdicts answered by the fast branch alone", registry=r)
        self.texts = Counter("tinyguardrail_texts", "texts checked", registry=r)
        self.workers = Gauge("tinyguardrail_inference_workers", "inference workers (batches run at once)", registry=r)
        self.queue_depth = Gauge("tinyguardrail_queue_depth", "requests waiting for an inference worker", registry=r)
        self.queue_texts = Gauge("tinyguardrail_queue_texts", "texts waiting for an inference worker", registry=r)
        self.batch_texts = Histogram("tinyguardrail_batch_texts", "texts per inference call (micro-batch)",
                                     buckets=_SIZE_BUCKETS, registry=r)
        self.batch_requests = Histogram("tinyguardrail_batch_requests", "requests per inference call (micro-batch)",
                                        buckets=_SIZE_BUCKETS, registry=r)
        self.queue_wait = Histogram("tinyguardrail_queue_wait_seconds", "time a request waited for its batch",
                                    buckets=_WAIT_BUCKETS, registry=r)

    # BatchObserver
    def queued(self, requests: int, texts: int) -> None:
        self.queue_depth.set(requests)
        self.queue_texts.set(texts)

    def dispatched(self, requests: int, texts: int, waited_s: Sequence[float]) -> None:
        self.batch_requests.observe(requests)
        self.batch_texts.observe(texts)
        for waited in waited_s:
            self.queue_wait.observe(waited)

    def observe_verdicts(self, verdicts: Sequence) -> None:
        self.texts.inc(len(verdicts))
        for v in verdicts:
            self.verdicts.labels(v.label).inc()
            if v.branch == "fast":
                self.early_exit.inc()
