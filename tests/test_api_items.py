"""Catalog writes over HTTP (auth, add, replace, delete), /readyz and /metrics."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from tests.conftest import isolated, solid_image

KEY = "s3cret-key"


def make_app(tmp_path, embedder, detector, *overrides: str, index_folder=None):
    """A test client over a fresh catalog in ``tmp_path`` sharing the session's models."""
    from lens.catalog import Catalog
    from lens.config import load_config
    from lens.manifest import read_items
    from lens.pipeline.facade import Lens
    from lens.pipeline.indexing import CatalogWriter, IndexMapper, run_indexing
    from lens.pipeline.bundle import ModelBundle
    from lens.understanding import QueryUnderstanding
    from web.app import create_app

    config = load_config("demo", [*isolated(tmp_path), "server.max_upload_mb=1", *overrides])
    catalog = Catalog.open(config, embedder.settings())
    models = ModelBundle(config, embedder=embedder, detector=detector,
                         understanding=QueryUnderstanding.from_config(config.understanding, embedder))
    lens = Lens(config, models, catalog)
    if index_folder is not None:
        run_indexing(read_items(index_folder), IndexMapper.from_lens(lens), CatalogWriter(catalog),
                     progress=False)
    app = create_app(lens=lens)
    app.testing = True
    return app


def png(color=(230, 120, 20), size=(120, 160)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(solid_image(color, size)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def app(tmp_path_factory, embedder, detector):
    return make_app(tmp_path_factory.mktemp("items"), embedder, detector, f"server.api_key={KEY}")


@pytest.fixture
def client(app):
    return app.test_client()


def _add(client, item_id="orange-1", data=None, headers=None, **fields):
    form = {"id": item_id, "image": (io.BytesIO(data or png()), "o.png"), **fields}
    return client.post("/api/v1/items", data=form,
                       headers={"Authorization": f"Bearer {KEY}"} if headers is None else headers)


def test_writes_disabled_without_a_key(tmp_path, embedder, detector):
    client = make_app(tmp_path, embedder, detector).test_client()
    for resp in (_add(client), client.delete("/api/v1/items/x", headers={"X-API-Key": "anything"})):
        assert resp.status_code == 403 and "server.api_key" in resp.get_json()["error"]


@pytest.mark.parametrize("headers, message", [
    ({}, "missing API key"), ({"Authorization": "Bearer nope"}, "invalid API key"),
    ({"X-API-Key": "nope"}, "invalid API key"), ({"Authorization": f"Basic {KEY}"}, "missing API key"),
])
def test_wrong_or_missing_key_is_401(client, headers, message):
    for resp in (_add(client, headers=headers), client.delete("/api/v1/items/orange-1", headers=headers)):
        assert resp.status_code == 401 and message in resp.get_json()["error"]
        assert resp.headers["WWW-Authenticate"] == "Bearer"


def test_add_query_replace_delete(app, client):
    lens = app.extensions["lens"]
    resp = _add(client, title="Orange tote", category="bag", color="orange")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["replaced"] is False and body["item"]["title"] == "Orange tote" and "image" not in body["item"]
    media = lens.catalog.directory / "media"
    first = list(media.iterdir())
    assert len(first) == 1 and first[0].suffix == ".png"
    found = client.post("/api/v1/lens", data={"image": (io.BytesIO(png()), "q.png"), "k": "3"}).get_json()
    assert found["results"][0]["id"] == "orange-1"
    assert client.get("/api/v1/items/orange-1").get_json()["category"] == "bag"
    assert client.get("/api/v1/items/orange-1/image").status_code == 200
    # replace with another picture: 200, the old media file goes
    resp = _add(client, data=png((20, 60, 200)), headers={"X-API-Key": KEY})
    assert resp.status_code == 200 and resp.get_json()["replaced"] is True
    assert [p.name for p in media.iterdir()] != [first[0].name] and len(list(media.iterdir())) == 1
    assert client.delete("/api/v1/items/orange-1", headers={"X-API-Key": KEY}).get_json() == {"deleted": "orange-1"}
    assert client.get("/api/v1/items/orange-1").status_code == 404
    assert list(media.iterdir()) == []
    after = client.post("/api/v1/lens", data={"image": (io.BytesIO(png()), "q.png")}).get_json()
    assert all(r["id"] != "orange-1" for r in after["results"])
    assert client.delete("/api/v1/items/orange-1", headers={"X-API-Key": KEY}).status_code == 404


@pytest.mark.parametrize("fields, message", [
    ({"id": ""}, "field 'id'"), ({"id": "../etc/passwd"}, "field 'id'"), ({"id": "a#1"}, "field 'id'"),
    ({"id": "x" * 129}, "field 'id'"), ({"title": "t" * 201}, "field 'title'"),
    ({"kind": "poster"}, "field 'kind'"), ({"image": (io.BytesIO(b"not an image"), "x.png")}, "image 'x.png'"),
    ({"image": "a text field"}, "field 'image'"),
])
def test_bad_item_fields_are_400(app, client, fields, message):
    form = {"id": "ok-1", "image": (io.BytesIO(png()), "o.png"), **fields}
    resp = client.post("/api/v1/items", data=form, headers={"X-API-Key": KEY})
    assert resp.status_code == 400 and message in resp.get_json()["error"]
    media = app.extensions["lens"].catalog.directory / "media"
    assert not media.exists() or list(media.iterdir()) == []      # nothing written for bad input


def test_item_upload_limit_is_413(client):
    big = Image.frombytes("RGB", (800, 800), bytes(range(256)) * 7500)
    buf = io.BytesIO()
    big.save(buf, format="BMP")
    resp = _add(client, data=buf.getvalue())
    assert resp.status_code == 413 and "1 MB" in resp.get_json()["error"]


def test_readyz(app, client):
    body = client.get("/readyz").get_json()
    assert body["status"] == "ready" and body["cache"] == "off"
    assert set(body["indexes"]) == {"visual", "objects"} and body["items"] == len(app.extensions["lens"].catalog)
    lens = app.extensions.pop("lens")
    try:
        resp = client.get("/readyz")
        assert resp.status_code == 503 and resp.get_json()["problems"] == ["lens: not loaded"]
    finally:
        app.extensions["lens"] = lens


SAMPLE = re.compile(r'^([a-z_]+)(\{[^}]*\})? (-?[0-9.e+]+|\+Inf)$')


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text -> {"name{labels}": value}; fails on any malformed line."""
    out = {}
    for line in text.splitlines():
        if line.startswith(("# HELP ", "# TYPE ")):
            continue
        match = SAMPLE.match(line)
        assert match, f"malformed metrics line: {line!r}"
        out[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return out


def test_metrics_parse_and_count(app, client):
    before = parse_metrics(client.get("/metrics").get_data(as_text=True))
    key = 'lens_http_requests_total{endpoint="/healthz",method="GET",status="200"}'
    for _ in range(3):
        client.get("/healthz")
    client.get("/api/v1/items/nope")
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.content_type.startswith("text/plain; version=0.0.4")
    after = parse_metrics(resp.get_data(as_text=True))
    assert after[key] - before.get(key, 0) == 3
    assert after['lens_http_requests_total{endpoint="/api/v1/items/<path:item_id>",method="GET",status="404"}'] >= 1
    buckets = [v for k, v in after.items() if k.startswith('lens_http_request_duration_seconds_bucket{endpoint="/healthz"')]
    assert buckets == sorted(buckets) and buckets[-1] == after['lens_http_request_duration_seconds_count{endpoint="/healthz"}']
    assert after["lens_catalog_items"] == len(app.extensions["lens"].catalog)
    assert after["lens_cache_enabled"] == 0


def test_metrics_hold_a_histogram_per_query_stage(app, client):
    """lens_query_stage_seconds{stage}: every stage of an uncached lens query, bucketed (issue 22.6)."""
    resp = client.post("/api/v1/lens", data={"image": (io.BytesIO(png((10, 200, 90))), "q.png"), "k": "3"})
    stages = resp.get_json()["timings_ms"]
    after = parse_metrics(client.get("/metrics").get_data(as_text=True))
    for stage in ("detect", "embed", "understand", "total"):
        assert stage in stages
        count = after[f'lens_query_stage_seconds_count{{stage="{stage}"}}']
        buckets = [v for k, v in after.items() if k.startswith(f'lens_query_stage_seconds_bucket{{stage="{stage}"')]
        assert count >= 1 and buckets == sorted(buckets) and buckets[-1] == count
    assert after['lens_query_stage_seconds_sum{stage="total"}'] >= stages["total"] / 1000 - 1e-6
