"""REST API, ``/api/v1``: thin views, validation at the edge, JSON errors.

* ``POST /api/v1/lens``: multipart ``image`` (required), ``box``
  (``x1,y1,x2,y2`` pixels, optional), ``k`` (optional), ``sources``
  (comma-separated: visual, object, text or all), ``filters`` (a JSON object,
  e.g. ``{"color": "red", "skin_tone_range": [1, 2]}``), ``text`` (words for
  the text source), ``diversity`` (on / off) -> the lens result, with the
  blend ratios and the rule that chose them.
* ``GET /api/v1/items/<id>``: one catalog item's metadata.
* ``GET /api/v1/items/<id>/image``: its image.
* ``GET /healthz``.

Bad input is a 4xx JSON ``{"error": ...}``, never a 500.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from flask import Blueprint, Flask, current_app, jsonify, request, send_file, url_for
from werkzeug.exceptions import HTTPException

from lens.boxes import parse_box
from lens.imageio import load_image

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__)
MAX_K = 200   # a page larger than this is a scrape, not a search


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


@bp.post("/api/v1/lens")
def lens_query():
    upload = request.files.get("image")
    if upload is None:
        return _error(400, "field 'image': a multipart file upload is required")
    lens = _lens()
    try:
        rgb = load_image(upload.read(), lens.config.server.max_pixels,
                         name=f"image '{upload.filename or 'upload'}'")
        k = _parse_k(request.form.get("k"), lens.config.query.k)
        box = request.form.get("box")
        box = parse_box(box, (rgb.shape[1], rgb.shape[0])) if box else None
        sources = [n.strip() for n in request.form.get("sources", "").split(",") if n.strip()] or None
        result = lens(rgb, box=box, k=k, sources=sources, filters=_parse_filters(request.form.get("filters")),
                      text=request.form.get("text") or None,
                      diversity=_parse_switch(request.form.get("diversity"), "diversity")).to_dict()
    except (ValueError, TypeError) as exc:
        return _error(400, str(exc))
    for item in result["results"]:
        item["image_url"] = url_for("api.item_image", item_id=item["id"])
        item.pop("image", None)     # server paths stay on the server
    return jsonify(result)


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


def register_error_handlers(app: Flask) -> None:
    """HTTP errors as JSON under /api and /healthz; 413 names the limit."""

    @app.errorhandler(413)
    def too_large(exc):
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        return _error(413, f"upload larger than the {limit // (1024 * 1024)} MB limit")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/api/") or request.path == "/healthz":
            return _error(exc.code or 500, exc.description or exc.name)
        return exc
