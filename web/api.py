"""REST API, ``/api/v1``: thin views, validation at the edge, JSON errors.

* ``POST /api/v1/lens``: multipart ``image`` (required), ``box``
  (``x1,y1,x2,y2`` pixels, optional), ``k`` (optional), ``sources``
  (comma-separated: visual, object, text or all), ``filters`` (a JSON object,
  e.g. ``{"color": "red", "skin_tone_range": [1, 2]}``), ``text`` (words for
  the text source), ``diversity`` (on / off), ``loose`` (on / off), ``complete``
  (on / off: Complete The Look's products that go with the scene) -> the lens result, with the
  blend ratios and the rule that chose them.
  Adds ``"cached": true/false`` (the Redis query cache, :mod:`web.cache`).
* ``GET /api/v1/items/<id>``: one catalog item's metadata.
* ``GET /api/v1/items/<id>/image``: its image.
* ``POST /api/v1/items`` / ``DELETE /api/v1/items/<id>``: add or replace /
  remove an item (:mod:`web.items`); need ``server.api_key``.
* ``GET /healthz`` (the process answers), ``GET /readyz`` (lens, models and
  indexes loaded, with counts; else 503), ``GET /metrics`` (Prometheus,
  :mod:`web.metrics`), ``GET /openapi.json`` (:mod:`web.openapi`).

Bad input is a 4xx JSON ``{"error": ...}``, never a 500.  Query uploads are
read in memory and never written to disk; only ``POST /api/v1/items`` writes
(to ``server.media_dir``, by design).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from flask import Blueprint, Flask, current_app, jsonify, request, send_file, url_for
from werkzeug.exceptions import HTTPException

from lens.boxes import parse_box
from lens.imageio import load_image
from web.cache import cache_key, catalog_state
from web.metrics import exposition

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__)
MAX_K = 200   # a page larger than this is a scrape, not a search
JSON_PATHS = ("/healthz", "/readyz", "/metrics", "/openapi.json")


def _error(status: int, message: str):
    return jsonify({"error": message}), status


def _lens():
    return current_app.extensions["lens"]


def _parse_k(raw: str | None, default: int) -> int:
    if raw in (None, ""):
        return default
    try:
        k = int(raw)
    except ValueError:
        raise ValueError(f"field 'k' {raw!r}: expected an integer") from None
    if not 1 <= k <= MAX_K:
        raise ValueError(f"field 'k' {k}: expected 1..{MAX_K}")
    return k


def _parse_switch(raw: str | None, name: str) -> bool | None:
    if raw in (None, ""):
        return None
    value = raw.strip().lower()
    if value not in ("on", "off", "true", "false", "1", "0"):
        raise ValueError(f"field '{name}' {raw!r}: expected on or off")
    return value in ("on", "true", "1")


def _parse_filters(raw: str | None) -> dict | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValueError(f"field 'filters': not valid JSON ({raw[:60]!r})") from None
    if not isinstance(data, dict):
        raise ValueError("field 'filters': expected a JSON object, e.g. {\"color\": \"red\"}")
    return data


def _query_fields(form, default_k: int) -> dict:
    """The parsed query fields (also the cache key's parts); ValueError names the field."""
    return {"k": _parse_k(form.get("k"), default_k), "box": (form.get("box") or "").strip() or None,
            "sources": [n.strip() for n in form.get("sources", "").split(",") if n.strip()] or None,
            "filters": _parse_filters(form.get("filters")), "text": form.get("text") or None,
            "diversity": _parse_switch(form.get("diversity"), "diversity"),
            "loose": bool(_parse_switch(form.get("loose"), "loose")),
            "complete": bool(_parse_switch(form.get("complete"), "complete"))}


def _run_query(lens, data: bytes, name: str, fields: dict) -> dict:
    rgb = load_image(data, lens.config.server.max_pixels, name=f"image '{name}'")
    box = parse_box(fields["box"], (rgb.shape[1], rgb.shape[0])) if fields["box"] else None
    result = lens(rgb, box=box, k=fields["k"], sources=fields["sources"], filters=fields["filters"],
                  text=fields["text"], diversity=fields["diversity"], loose=fields["loose"],
                  complete=fields["complete"]).to_dict()
    current_app.extensions["metrics"].observe_stages(result["timings_ms"])
    for item in result["results"] + (result["complete"] or {}).get("items", []):
        item["image_url"] = url_for("api.item_image", item_id=item["id"])
        item.pop("image", None)     # server paths stay on the server
    return result


@bp.post("/api/v1/lens")
def lens_query():
    upload = request.files.get("image")
    if upload is None:
        return _error(400, "field 'image': a multipart file upload is required")
    lens, cache = _lens(), current_app.extensions.get("cache")
    try:
        fields = _query_fields(request.form, lens.config.query.k)
        data = upload.read()
        key = None
        if cache is not None:
            key = cache_key(data, fields, catalog_state(lens.catalog, current_app.extensions["catalog_token"].value))
            hit = cache.get(key)
            if hit is not None:
                return jsonify({**hit, "cached": True})
        result = _run_query(lens, data, upload.filename or "upload", fields)
    except (ValueError, TypeError) as exc:
        return _error(400, str(exc))
    if key is not None:
        cache.set(key, result)
    return jsonify({**result, "cached": False})


@bp.get("/api/v1/items/<path:item_id>")
def item(item_id: str):
    found = _lens().catalog.store.get(item_id)
    if found is None:
        return _error(404, f"item '{item_id}': not in the catalog")
    found = dict(found)
    found.pop("image", None)
    found["image_url"] = url_for("api.item_image", item_id=item_id)
    return jsonify(found)


@bp.get("/api/v1/items/<path:item_id>/image")
def item_image(item_id: str):
    found = _lens().catalog.store.get(item_id)
    path = Path(found["image"]) if found and found.get("image") else None
    if path is None or not path.is_file():
        return _error(404, f"item '{item_id}': no image")
    return send_file(path, max_age=3600)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok", "items": len(_lens().catalog)})


def readiness(lens) -> tuple[list[str], dict]:
    """What is missing before ``lens`` can answer queries, and the counts."""
    if lens is None:
        return ["lens: not loaded"], {}
    problems = [f"{name}: not loaded" for name in ("embedder", "detector", "understanding", "catalog")
                if getattr(lens, name, None) is None]
    if problems:
        return problems, {}
    indexes = {name: len(index) for name, index in lens.catalog.indexes.items()}
    if lens.catalog.text is None and "text" in lens.sources:
        problems.append("text index: not loaded")
    return problems, {"items": indexes.get("visual", 0), "indexes": indexes,
                      "embedder": lens.models.embedder.settings(), "runtime": runtimes(lens.models),
                      "text": lens.catalog.text is not None, "sources": list(lens.sources)}


def runtimes(models) -> dict:
    """What runs each model on the query path now: ``onnx`` or ``torch`` (``embedder.runtime``,
    ``detection.runtime``; a failed export falls back to torch); the detector None when there is none."""
    detector = models.object_detector
    return {"embedder": getattr(models.embedder, "runtime", "torch"),
            "detector": None if detector is None else detector.runtime}


@bp.get("/readyz")
def readyz():
    problems, counts = readiness(current_app.extensions.get("lens"))
    cache = current_app.extensions.get("cache")
    body = {**counts, "cache": "off" if cache is None else "up" if cache.up else "down",
            "warm_up": current_app.extensions.get("warm_up")}
    if problems:
        return jsonify({"status": "not ready", "problems": problems, **body}), 503
    return jsonify({"status": "ready", **body})


@bp.get("/metrics")
def metrics():
    return exposition(current_app)


def register_error_handlers(app: Flask) -> None:
    """HTTP errors as JSON under /api and /healthz; 413 names the limit."""

    @app.errorhandler(413)
    def too_large(exc):
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        return _error(413, f"upload larger than the {limit // (1024 * 1024)} MB limit")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/api/") or request.path in JSON_PATHS:
            return _error(exc.code or 500, exc.description or exc.name)
        return exc
