"""``GET /metrics``: Prometheus text exposition (format 0.0.4), written by hand.

Request counts by endpoint (the Flask route pattern, so ids do not explode
the label set), method and status; a latency histogram per endpoint; a histogram
per lens query stage (``lens_query_stage_seconds``); cache hits / misses /
errors; catalog size.  The figures are per process: under
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
# seconds: a query's stages run from well under a millisecond (a source at 1k items) to ~0.3 s
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class _Histograms:
    """Prometheus histograms of one metric, one per label value: bucket counts, sum, count."""

    def __init__(self, name: str, help_text: str, label: str, buckets: tuple[float, ...]):
        self.name, self.help, self.label, self.bounds = name, help_text, label, buckets
        self.rows: dict[str, list[int]] = {}
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def observe(self, value: str, seconds: float) -> None:
        row = self.rows.setdefault(value, [0] * len(self.bounds))
        for i, bound in enumerate(self.bounds):
            if seconds <= bound:
                row[i] += 1
        self.sums[value] += seconds
        self.counts[value] += 1

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for value, row in sorted(self.rows.items()):
            labels = {self.label: value}
            for bound, n in zip(self.bounds, row):
                out.append(f"{self.name}_bucket{_labels(**labels, le=repr(bound))} {n}")
            out.append(f"{self.name}_bucket{_labels(**labels, le='+Inf')} {self.counts[value]}")
            out.append(f"{self.name}_sum{_labels(**labels)} {self.sums[value]:.6f}")
            out.append(f"{self.name}_count{_labels(**labels)} {self.counts[value]}")
        return out


class Metrics:
    """Thread-safe request counters and latency histograms of one process, and the lens
    queries' per-stage times (``lens_query_stage_seconds{stage=...}``: decode, detect, embed,
    understand, each source, blend, diversity, complete (when asked), total; what a slow query spent
    its time on)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency = _Histograms("lens_http_request_duration_seconds", "Request latency by endpoint.",
                                   "endpoint", BUCKETS)
        self.stages = _Histograms("lens_query_stage_seconds", "Lens query time by stage (uncached queries).",
                                  "stage", STAGE_BUCKETS)

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(endpoint, method, status)] += 1
            self.latency.observe(endpoint, seconds)

    def observe_stages(self, timings_ms: dict[str, float]) -> None:
        """One query's stage timings (``LensResult.timings_ms``: stage -> milliseconds)."""
        with self._lock:
            for stage, ms in timings_ms.items():
                self.stages.observe(stage, float(ms) / 1000.0)

    def render(self, gauges: dict[str, tuple[str, str, float]]) -> str:
        """The exposition text; ``gauges``: name -> (type, help, value)."""
        out = ["# HELP lens_http_requests_total HTTP requests by endpoint, method and status.",
               "# TYPE lens_http_requests_total counter"]
        with self._lock:
            for (endpoint, method, status), n in sorted(self.requests.items()):
                out.append(f"lens_http_requests_total{_labels(endpoint=endpoint, method=method, status=status)} {n}")
            out += self.latency.render() + self.stages.render()
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
