"""``GET /metrics``: Prometheus text exposition (format 0.0.4), written by hand.

Request counts by endpoint (the Flask route pattern, so ids do not explode
the label set), method and status; a latency histogram per endpoint; cache
hits / misses / errors; catalog size.  The figures are per process: under
gunicorn each worker keeps its own and a scrape reads the worker that
answered (``lens_process_id`` tells which); sum them by ``pid`` in Prometheus.
"""
from __future__ import annotations

import os
import threading
import time
from collections import defaultdict

from flask import Flask, Response, g, request

# seconds: a cache hit is ~ms, a cold query 0.1-2 s on 2 CPU cores
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class Metrics:
    """Thread-safe request counters and latency histograms of one process."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(endpoint, method, status)] += 1
            row = self.buckets.setdefault(endpoint, [0] * len(BUCKETS))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    row[i] += 1
            self.sums[endpoint] += seconds
            self.counts[endpoint] += 1

    def render(self, gauges: dict[str, tuple[str, str, float]]) -> str:
        """The exposition text; ``gauges``: name -> (type, help, value)."""
        out = ["# HELP lens_http_requests_total HTTP requests by endpoint, method and status.",
               "# TYPE lens_http_requests_total counter"]
        with self._lock:
            for (endpoint, method, status), n in sorted(self.requests.items()):
                out.append(f"lens_http_requests_total{_labels(endpoint=endpoint, method=method, status=status)} {n}")
            out += ["# HELP lens_http_request_duration_seconds Request latency by endpoint.",
                    "# TYPE lens_http_request_duration_seconds histogram"]
            for endpoint, row in sorted(self.buckets.items()):
                name = "lens_http_request_duration_seconds"
                for bound, n in zip(BUCKETS, row):
                    out.append(f"{name}_bucket{_labels(endpoint=endpoint, le=repr(bound))} {n}")
                out.append(f"{name}_bucket{_labels(endpoint=endpoint, le='+Inf')} {self.counts[endpoint]}")
                out.append(f"{name}_sum{_labels(endpoint=endpoint)} {self.sums[endpoint]:.6f}")
                out.append(f"{name}_count{_labels(endpoint=endpoint)} {self.counts[endpoint]}")
        for name, (kind, help_text, value) in gauges.items():
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
        return "\n".join(out) + "\n"


def install(app: Flask) -> Metrics:
    """Time every request of ``app`` into a :class:`Metrics` (``app.extensions["metrics"]``)."""
    metrics = Metrics()
    app.extensions["metrics"] = metrics

    @app.before_request
    def _start():
        g.metrics_start = time.perf_counter()

    @app.after_request
    def _observe(response):
        start = g.pop("metrics_start", None)
        if start is not None:
            endpoint = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
            metrics.observe(endpoint, request.method, response.status_code, time.perf_counter() - start)
        return response

    return metrics


def exposition(app: Flask) -> Response:
    """The ``/metrics`` response: request figures plus cache and catalog gauges."""
    lens, cache = app.extensions["lens"], app.extensions.get("cache")
    gauges = {
        "lens_catalog_items": ("gauge", "Items in the catalog (whole-image vectors).", len(lens.catalog.visual)),
        "lens_catalog_version": ("gauge", "Catalog changes made by this process.", lens.catalog.version),
        "lens_process_id": ("gauge", "Process id of the worker that answered.", os.getpid()),
        "lens_cache_enabled": ("gauge", "1 when a query cache is configured.", int(cache is not None)),
    }
    if cache is not None:
        gauges |= {
            "lens_cache_hits_total": ("counter", "Query cache hits.", cache.hits),
            "lens_cache_misses_total": ("counter", "Query cache misses (incl. cache down).", cache.misses),
            "lens_cache_errors_total": ("counter", "Redis errors (each starts a back-off).", cache.errors),
            "lens_cache_up": ("gauge", "0 while backing off after a Redis error.", int(cache.up)),
        }
    return Response(app.extensions["metrics"].render(gauges), mimetype=None, content_type=CONTENT_TYPE)
