"""Catalog writes over HTTP: ``POST /api/v1/items`` and ``DELETE /api/v1/items/<id>``.

Both need ``server.api_key`` (empty: they answer 403 and say how to enable
them), sent as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>`` and
compared with :func:`hmac.compare_digest`.

``POST`` takes multipart ``image`` + ``id`` (+ optional ``title``,
``description``, ``category``, ``color``, ``kind``); server paths are never
accepted (bulk loads go through ``lens index``).  The image is decoded first
(size guard), then written to ``server.media_dir`` (default
``<catalog>/media``) under a name derived from hashes (never the client's
file name), mapped with :class:`lens.pipeline.indexing.IndexMapper` and added with
:class:`lens.pipeline.indexing.CatalogWriter`.  Replacing or deleting an item removes
its old media file when it lies in the media folder.

Writes are serialised by one lock per process; under gunicorn a write
reaches only the worker that served it (see web/README.md).
"""
from __future__ import annotations

import hashlib
import hmac
import io
import re
import threading
from functools import wraps
from pathlib import Path

from flask import current_app, jsonify, request, url_for
from PIL import Image

from lens.files import atomic_write_bytes
from lens.imageio import load_image
from lens.pipeline.indexing import CatalogWriter, IndexMapper
from web.api import _error, _lens, bp

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"   # also a safe file-name stem; no '#', no '/'
TEXT_FIELDS = {"title": 200, "description": 2000, "category": 64, "color": 32}
KINDS = ("product", "scene")    # product: one object (no detection); scene: objects detected and indexed
_write_lock = threading.Lock()


def _given_key() -> str:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("X-API-Key", "").strip()


def require_key(view):
    """403 when writes are disabled, 401 without the right key."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        expected = _lens().config.server.api_key
        if not expected:
            return _error(403, "catalog writes are disabled: set server.api_key "
                               "(or the LENS_API_KEY environment variable) to enable them")
        given = _given_key()
        if not given:
            resp = _error(401, "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        elif not hmac.compare_digest(given.encode(), expected.encode()):
            resp = _error(401, "invalid API key")
        else:
            return view(*args, **kwargs)
        resp[0].headers["WWW-Authenticate"] = "Bearer"
        return resp
    return wrapped


def _item_fields(form) -> dict:
    """The item record from the form; ValueError names the field."""
    item_id = (form.get("id") or "").strip()
    if not re.match(ID_PATTERN, item_id):
        raise ValueError(f"field 'id' {item_id[:40]!r}: expected 1-128 letters, digits, '.', '_' or '-'"
                         " (starting with a letter or digit)")
    item = {"id": item_id, "kind": (form.get("kind") or "product").strip()}
    if item["kind"] not in KINDS:
        raise ValueError(f"field 'kind' {item['kind'][:40]!r}: expected one of {', '.join(KINDS)}")
    for name, limit in TEXT_FIELDS.items():
        value = (form.get(name) or "").strip()
        if len(value) > limit:
            raise ValueError(f"field '{name}': at most {limit} characters, got {len(value)}")
        if value:
            item[name] = value
    return item


def media_dir(lens) -> Path:
    configured = lens.config.server.media_dir
    return Path(configured) if configured else lens.catalog.directory / "media"


def _save_media(folder: Path, item_id: str, data: bytes) -> Path:
    """Write ``data`` under a hash-derived name: one file per item and content."""
    fmt = (Image.open(io.BytesIO(data)).format or "img").lower()
    name = (f"{hashlib.sha256(item_id.encode()).hexdigest()[:16]}-"
            f"{hashlib.sha256(data).hexdigest()[:16]}.{fmt}")
    return atomic_write_bytes(folder / name, data)


def _drop_media(folder: Path, old: dict | None, keep: Path | None = None) -> None:
    """Remove an item's previous image if it is one of ours (inside ``folder``)."""
    if not old or not old.get("image"):
        return
    path = Path(old["image"]).resolve()
    if path.parent == folder.resolve() and path != (keep.resolve() if keep else None):
        path.unlink(missing_ok=True)


def _changed() -> None:
    token = current_app.extensions.get("catalog_token")
    if token is not None:
        token.changed()


def _public(item: dict) -> dict:
    out = {k: v for k, v in item.items() if k not in ("image", "understanding", "crops")}
    out["image_url"] = url_for("api.item_image", item_id=item["id"])
    return out


@bp.post("/api/v1/items")
@require_key
def add_item():
    lens = _lens()
    upload = request.files.get("image")
    try:
        item = _item_fields(request.form)
        if upload is None:
            raise ValueError("field 'image': a multipart file upload is required")
        data = upload.read()
        load_image(data, lens.config.server.max_pixels, name=f"image '{upload.filename or 'upload'}'")
    except (ValueError, TypeError) as exc:
        return _error(400, str(exc))
    folder = media_dir(lens)
    with _write_lock:
        path = _save_media(folder, item["id"], data)
        batch = IndexMapper.from_lens(lens)([{**item, "image": str(path)}])
        if batch.failures:
            path.unlink(missing_ok=True)
            return _error(400, f"field 'image': {batch.failures[0][1]}")
        old = lens.catalog.store.get(item["id"])
        CatalogWriter(lens.catalog)(batch)
        _drop_media(folder, old, keep=path)
        _changed()
    return jsonify({"item": _public(batch.records[0]), "replaced": old is not None}), 200 if old else 201


@bp.delete("/api/v1/items/<path:item_id>")
@require_key
def delete_item(item_id: str):
    lens = _lens()
    with _write_lock:
        old = lens.catalog.store.get(item_id)
        if old is None:
            return _error(404, f"item '{item_id}': not in the catalog")
        lens.catalog.delete(item_id)
        _drop_media(media_dir(lens), old)
        _changed()
    return jsonify({"deleted": item_id})
