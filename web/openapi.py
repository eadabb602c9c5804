"""``GET /openapi.json``: the API as an OpenAPI 3.0 document, written by hand.

Limits come from the running config (upload size, k), so the document says
what this server accepts.  ``tests/test_openapi.py`` checks that every route
is described and runs schemathesis against it.
"""
from __future__ import annotations

from flask import Flask, current_app, jsonify

from web.api import MAX_K, bp
from web.items import ID_PATTERN, KINDS, TEXT_FIELDS

JSON = "application/json"
# What made the vectors (lens/embeddings.py Embedder.settings()): the same record the catalog keeps.
_EMBEDDER = {"type": "object", "required": ["name", "dim"], "additionalProperties": True,
             "description": "The embedder: name (mobilenet_v2, efficientnet_lite0, unified), dim, and for a "
                            "trained one its checkpoint (the file's sha256, 12 hex digits).",
             "properties": {"name": {"type": "string"}, "dim": {"type": "integer"},
                            "checkpoint": {"type": "string"}}}
BOX_PATTERN = r"^\s*-?[0-9.]+\s*,\s*-?[0-9.]+\s*,\s*-?[0-9.]+\s*,\s*-?[0-9.]+\s*$"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*codes: int) -> dict:
    return {str(c): {"$ref": f"#/components/responses/E{c}"} for c in codes}


def _understanding_schemas() -> dict:
    """lens.understanding.Understanding.to_dict() and its parts (issue 3: one typed result)."""
    num, integer, string = {"type": "number"}, {"type": "integer"}, {"type": "string"}

    def maybe(schema: dict) -> dict:
        return {**schema, "nullable": True}

    def array(items: dict) -> dict:
        return {"type": "array", "items": items}

    box = {"type": "array", "items": num, "minItems": 4, "maxItems": 4, "nullable": True,
           "description": "x1, y1, x2, y2 in pixels of the original image."}
    status = {"type": "string", "enum": ["ok", "unknown"]}
    label = {"type": "object", "required": ["kind", "score"], "additionalProperties": True,
             "properties": {"kind": string, "name": string, "text": string, "score": num}}
    colour = {"type": "object", "required": ["name", "hex", "weight", "lab"],
              "properties": {"name": string, "hex": {"type": "string", "pattern": "^#[0-9a-f]{6}$"},
                             "weight": num, "lab": array(num)}}
    skin = {"type": "object", "required": ["status", "reason", "mst", "range", "confidence", "method"],
            "description": "One face's skin tone, or unknown with a reason; no identity data.",
            "properties": {"status": status, "reason": string, "mst": maybe(integer), "range": maybe(integer),
                           "ita": maybe(num), "lab": maybe(array(num)), "confidence": num,
                           "face_box": box, "method": string, "pixels": integer}}
    body = {"type": "object", "required": ["status", "reason", "range", "confidence"],
            "properties": {"status": status, "reason": string, "range": maybe(integer), "name": maybe(string),
                           "shoulder_ratio": maybe(num), "waist_ratio": maybe(num), "hip_ratio": maybe(num),
                           "confidence": num, "person_box": box}}
    lists = {"colors": _ref("SalientColor"), "categories": _ref("Label"), "patterns": _ref("Label"),
             "text": {"type": "object"}, "annotations": _ref("Label"), "skin_tones": _ref("SkinTone"),
             "body_types": _ref("BodyType"), "notes": string}
    understanding = {"type": "object", "required": ["width", "height", "lighting", "quality", *lists],
                     "properties": {"width": integer, "height": integer,
                                    "lighting": {"type": "object", "additionalProperties": True},
                                    "quality": {"type": "object", "additionalProperties": True},
                                    **{k: array(v) for k, v in lists.items()}}}
    return {"Understanding": understanding, "SalientColor": colour, "SkinTone": skin, "BodyType": body,
            "Label": label}


def _schemas() -> dict:
    item = {"type": "object", "required": ["id", "image_url"], "additionalProperties": True,
            "properties": {"id": {"type": "string"}, "image_url": {"type": "string"},
                           "title": {"type": "string"}, "kind": {"type": "string"},
                           "category": {"type": "string"}, "color": {"type": "string"},
                           "width": {"type": "integer"}, "height": {"type": "integer"}}}
    result = {"type": "object", "required": ["id", "rank", "score", "image_url", "sources"],
              "additionalProperties": True,
              "properties": {"id": {"type": "string"}, "rank": {"type": "integer", "minimum": 1},
                             "score": {"type": "number"}, "image_url": {"type": "string"},
                             "sources": {"type": "array", "items": {"type": "string"}},
                             "provenance": {"type": "array", "items": {"type": "object"}, "description":
                                            "one entry per source that found the item: source, raw score, "
                                            "calibrated score, weight (object hits: the matched crop's "
                                            "detection score, present when under 1) and the source's own "
                                            "fields (via, crop, box, label, background ...)"}}}
    lens = {"type": "object", "additionalProperties": True,
            "required": ["image", "regions", "understanding", "results", "query_box", "sources",
                         "timings_ms", "filters", "blend", "embedder", "cached"],
            "properties": {
                "image": {"type": "object", "required": ["width", "height", "hash"],
                          "properties": {"width": {"type": "integer"}, "height": {"type": "integer"},
                                         "hash": {"type": "string"}}},
                "regions": {"type": "array", "items": {"type": "object"}},
                "understanding": _ref("Understanding"),
                "results": {"type": "array", "items": _ref("Result"), "maxItems": MAX_K},
                "query_box": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
                              "nullable": True},
                "sources": {"type": "array", "items": {"type": "string"}},
                "timings_ms": {"type": "object", "additionalProperties": {"type": "number"}},
                "filters": {"type": "object"},
                "blend": {"type": "object", "description": (
                    "How the page was mixed: ratios (source -> weight), rule and reason (why those "
                    "ratios), text_agreement (share of the text hits from the photo's own labels "
                    "that the visual source also found, which scaled the text weight; null with "
                    "user text), text_lead (how far the text source's best item leads its second, "
                    "as a share of blend.text_lead, which scaled it too; null with user text or "
                    "when off), category (the query's likely category and the lift's strength), "
                    "relevance (the floor: min_relevance and background_weight, close and "
                    "below_floor counts, loose_shown, message \"no close matches\" when none is "
                    "close), diversity (on or off), dimensions (what the DPP spread "
                    "this page over: visual, skin_tone, body_type, color; each only where it "
                    "applies) and diversity_reason (why: people shown or not, a dimension left "
                    "out for what it would cost the page's relevance), pool and "
                    "pool_skin_tone_ranges (the candidates the DPP chose from).")},
                "embedder": _EMBEDDER,
                "complete": _COMPLETE,
                "cached": {"type": "boolean", "description": "Answered from the Redis query cache."}}}
    ready = {"type": "object", "required": ["status"], "additionalProperties": True,
             "properties": {"status": {"type": "string", "enum": ["ready", "not ready"]},
                            "items": {"type": "integer"},
                            "indexes": {"type": "object", "additionalProperties": {"type": "integer"}},
                            "problems": {"type": "array", "items": {"type": "string"}},
                            "embedder": _EMBEDDER,
                            "runtime": {"type": "object", "description": "What runs each model: onnx or torch.",
                                        "properties": {"embedder": {"type": "string", "enum": ["onnx", "torch"]},
                                                       "detector": {"type": "string", "nullable": True,
                                                                    "enum": ["onnx", "torch", None]}}},
                            "cache": {"type": "string", "enum": ["off", "up", "down"]},
                            "warm_up": {"type": "object", "nullable": True,
                                        "description": "The start-up query (server.warm_up); null when off.",
                                        "properties": {"ms": {"type": "number"}, "query ms": {"type": "number"},
                                                       "frozen objects": {
                                                           "type": "integer", "description":
                                                           "start-up's objects frozen out of the garbage "
                                                           "collector's passes"}}}}}
    return {"Error": {"type": "object", "required": ["error"],
                      "properties": {"error": {"type": "string", "description": "One line naming the field."}}},
            "Item": item, "Result": result, "LensResult": lens, "Ready": ready, **_understanding_schemas(),
            "Health": {"type": "object", "required": ["status", "items"],
                       "properties": {"status": {"type": "string"}, "items": {"type": "integer"}}},
            "ItemWritten": {"type": "object", "required": ["item", "replaced"],
                            "properties": {"item": _ref("Item"), "replaced": {"type": "boolean"}}},
            "ItemDeleted": {"type": "object", "required": ["deleted"],
                            "properties": {"deleted": {"type": "string"}}}}


_COMPLETE = {
    "type": "object", "nullable": True,
    "description": "Complete The Look (asked with complete=on; null otherwise): products of the garment "
                   "classes the scene lacks (or the box's class), nearest the scene's style, re-ranked by "
                   "the DPP for variety.",
    "required": ["items", "asked", "present", "attention", "reason"],
    "properties": {
        "items": {"type": "array", "items": {"type": "object", "required": ["id", "class", "distance", "rank"],
                  "properties": {"id": {"type": "string"}, "class": {"type": "string"},
                                 "distance": {"type": "number", "description": "compatibility distance, 0-4: lower "
                                              "goes better"},
                                 "rank": {"type": "integer"}, "image_url": {"type": "string"}},
                  "additionalProperties": True}},
        "asked": {"type": "array", "items": {"type": "string"}, "description": "the classes suggested"},
        "present": {"type": "array", "items": {"type": "string"}, "description": "the classes the photo shows"},
        "attention": {"type": "object", "description": "per class asked: [x1, y1, x2, y2, weight] cells of the "
                      "photo (pixels; weight 0-1, the largest 1): the scene regions the model judged it against",
                      "additionalProperties": {"type": "array", "items": {"type": "array", "items": {
                          "type": "number"}, "minItems": 5, "maxItems": 5}}},
        "reason": {"type": "string", "description": "why these, or why none (no outfit found; no products of "
                   "those classes in the catalog)"}}}


def _lens_form(max_mb: int) -> dict:
    return {"type": "object", "required": ["image"], "properties": {
        "image": {"type": "string", "format": "binary",
                  "description": f"JPEG, PNG, WebP, ...; at most {max_mb} MB. Read in memory, never stored."},
        "box": {"type": "string", "pattern": BOX_PATTERN,
                "description": "x1,y1,x2,y2 in pixels of the uploaded image; no detection runs then."},
        "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "description": "Results wanted."},
        "sources": {"type": "string", "description": "Comma-separated: visual, object, text, or all."},
        "filters": {"type": "string", "description": "A JSON object: category, color, "
                    "skin_tone_range, body_type_range -> value or list, e.g. {\"color\": \"red\"}."},
        "text": {"type": "string", "description": "Words for the text source."},
        "diversity": {"type": "string", "enum": ["on", "off", "true", "false", "1", "0"]},
        "loose": {"type": "string", "enum": ["on", "off", "true", "false", "1", "0"],
                  "description": "also the best few results under the relevance floor, marked loose"},
        "complete": {"type": "string", "enum": ["on", "off", "true", "false", "1", "0"],
                     "description": "also Complete The Look: catalog products that go with the scene (or, "
                                    "with a box, with the scene that box is blanked out of), in 'complete'"}}}


def _item_form(max_mb: int) -> dict:
    props = {"id": {"type": "string", "pattern": ID_PATTERN, "maxLength": 128},
             "image": {"type": "string", "format": "binary",
                       "description": f"At most {max_mb} MB; stored under server.media_dir."},
             "kind": {"type": "string", "enum": list(KINDS), "default": "product",
                      "description": "scene: its objects are detected and indexed too."}}
    props |= {name: {"type": "string", "maxLength": limit} for name, limit in TEXT_FIELDS.items()}
    return {"type": "object", "required": ["id", "image"], "properties": props}


def _paths(max_mb: int) -> dict:
    item_id = {"name": "item_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
    form = lambda schema: {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    secured = [{"bearer": []}, {"apiKey": []}]
    return {
        "/api/v1/lens": {"post": {
            "summary": "Search the catalog with a photo (optionally a box, filters, text).",
            "requestBody": form(_lens_form(max_mb)),
            "responses": {"200": _json(_ref("LensResult"), "The page of results."), **_errors(400, 413)}}},
        "/api/v1/items": {"post": {
            "summary": "Add or replace an item (needs the API key).", "security": secured,
            "requestBody": form(_item_form(max_mb)),
            "responses": {"201": _json(_ref("ItemWritten"), "Added."),
                          "200": _json(_ref("ItemWritten"), "Replaced."), **_errors(400, 401, 403, 413)}}},
        "/api/v1/items/{item_id}": {
            "parameters": [item_id],
            "get": {"summary": "One item's metadata.",
                    "responses": {"200": _json(_ref("Item"), "The item."), **_errors(404)}},
            "delete": {"summary": "Remove an item (needs the API key).", "security": secured,
                       "responses": {"200": _json(_ref("ItemDeleted"), "Removed."), **_errors(401, 403, 404)}}},
        "/api/v1/items/{item_id}/image": {"parameters": [item_id], "get": {
            "summary": "An item's image.",
            "responses": {"200": {"description": "The image file.",
                                  "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}}},
                          **_errors(404)}}},
        "/healthz": {"get": {"summary": "The process answers.",
                             "responses": {"200": _json(_ref("Health"), "Alive.")}}},
        "/readyz": {"get": {"summary": "Lens, models and indexes loaded (with counts).",
                            "responses": {"200": _json(_ref("Ready"), "Ready."),
                                          "503": _json(_ref("Ready"), "Not ready; problems lists why.")}}},
        "/metrics": {"get": {"summary": "Prometheus text exposition (per worker process).",
                             "responses": {"200": {"description": "Metrics.",
                                                   "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/openapi.json": {"get": {"summary": "This document.",
                                  "responses": {"200": _json({"type": "object"}, "OpenAPI 3.0.3.")}}},
        "/": {"get": {"summary": "The upload page (HTML).",
                      "responses": {"200": {"description": "The page.",
                                            "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    }


def document(app: Flask) -> dict:
    """The OpenAPI 3.0.3 document of ``app`` as configured."""
    max_mb = app.extensions["lens"].config.server.max_upload_mb
    reasons = {400: "Bad input; the message names the field.", 401: "Missing or wrong API key.",
               403: "Catalog writes are disabled (server.api_key is empty).", 404: "No such item.",
               413: f"Upload larger than {max_mb} MB (server.max_upload_mb)."}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Lens", "version": "1",
                 "description": "Visual discovery: search a catalog with a photo. Errors are JSON "
                                "{\"error\": \"...\"} naming the field. Query uploads are never written "
                                "to disk; POST /api/v1/items stores its image under server.media_dir."},
        "paths": _paths(max_mb),
        "components": {
            "schemas": _schemas(),
            "responses": {f"E{c}": _json(_ref("Error"), text) for c, text in reasons.items()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
    }


@bp.get("/openapi.json")
def openapi():
    """The document, for this server's config (its route joins the API blueprint, as items' do)."""
    return jsonify(document(current_app))
