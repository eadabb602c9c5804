"""The Flask app through its factory: upload page, lens endpoint, items, errors (never 500)."""
import io

import numpy as np
import pytest
from PIL import Image

from lens.imageio import encode_jpeg
from lens.manifest import read_items
from lens.pipeline.indexing import CatalogWriter, IndexMapper, run_indexing
from web.app import create_app


@pytest.fixture
def client(lens_factory, image_folder):
    lens = lens_factory("server.max_upload_mb=1", "blend.min_relevance=0")   # six solid colours: no floor
    run_indexing(read_items(image_folder), IndexMapper.from_lens(lens),
                 CatalogWriter(lens.catalog), progress=False)
    app = create_app(lens=lens)
    app.testing = True
    return app.test_client()


def _png(path) -> bytes:
    return path.read_bytes()


def test_upload_page_serves_local_assets(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'type="file"' in html and "/static/lens/app.js" in html and "http" not in html.split("<body>")[1]
    assert client.get("/static/lens/app.js").status_code == 200
    assert client.get("/static/lens/style.css").status_code == 200
    assert "Visual model: mobilenet_v2" in html                # which embedder made the vectors
    assert "runs on onnx" in html                               # embedder.runtime, as /readyz reports it


def test_lens_endpoint(client, image_folder):
    resp = client.post("/api/v1/lens", data={"image": (io.BytesIO(_png(image_folder / "green.png")),
                                                       "q.png"), "k": "3"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["results"][0]["id"] == "green" and len(body["results"]) == 3
    assert body["results"][0]["image_url"] == "/api/v1/items/green/image"
    assert "image" not in body["results"][0]           # no server paths leak
    assert {"regions", "understanding", "timings_ms", "image"} <= set(body)
    assert body["understanding"]["colors"][0]["name"] == "green"
    assert client.get(body["results"][0]["image_url"]).status_code == 200
    assert body["embedder"]["name"] == "mobilenet_v2" and body["embedder"]["dim"] == 1280
    assert client.get("/readyz").get_json()["embedder"] == body["embedder"]


def test_lens_endpoint_with_box(client, image_folder):
    resp = client.post("/api/v1/lens", data={"image": (io.BytesIO(_png(image_folder / "red.png")),
                                                       "q.png"), "box": "40,30,120,90"})
    assert resp.status_code == 200 and resp.get_json()["query_box"] == [40, 30, 120, 90]


@pytest.mark.parametrize("data, status, message", [
    ({}, 400, "field 'image'"),
    ({"image": (io.BytesIO(b"not an image"), "x.jpg")}, 400, "image 'x.jpg'"),
    ({"image": (io.BytesIO(b""), "empty.png")}, 400, "empty"),
    ({"image": (io.BytesIO(encode_jpeg(np.zeros((40, 40, 3), np.uint8))[:200]), "cut.jpg")}, 400,
     "cut.jpg"),
    ({"image": "plain text field"}, 400, "field 'image'"),
])
def test_bad_uploads_are_400_json(client, data, status, message):
    resp = client.post("/api/v1/lens", data=data)
    assert resp.status_code == status
    assert message in resp.get_json()["error"]


@pytest.mark.parametrize("field, value, message", [
    ("k", "zero", "field 'k'"), ("k", "0", "expected 1..200"), ("k", "100000", "expected 1..200"),
    ("box", "1,2,3", "expected 4 numbers"), ("box", "50,50,10,10", "degenerate"),
    ("box", "900,900,999,999", "outside"),
])
def test_bad_fields_are_400_json(client, image_folder, field, value, message):
    resp = client.post("/api/v1/lens", data={"image": (io.BytesIO(_png(image_folder / "red.png")),
                                                       "q.png"), field: value})
    assert resp.status_code == 400 and message in resp.get_json()["error"]


def test_upload_limit_is_413(client):
    big = np.random.default_rng(0).integers(0, 255, (800, 800, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(big).save(buf, format="PNG")
    resp = client.post("/api/v1/lens", data={"image": (io.BytesIO(buf.getvalue()), "big.png")})
    assert resp.status_code == 413 and "1 MB" in resp.get_json()["error"]


def test_items_and_health(client):
    assert client.get("/api/v1/items/red").get_json()["id"] == "red"
    assert client.get("/api/v1/items/nope").status_code == 404
    assert client.get("/api/v1/items/nope/image").status_code == 404
    assert client.get("/healthz").get_json() == {"status": "ok", "items": 6}
    assert client.get("/api/v1/lens").status_code == 405
    assert client.get("/api/v1/unknown").get_json()["error"]


def _json_schema(node, components):
    """An OpenAPI 3.0 schema as JSON Schema: $refs inlined, ``nullable`` as a null type."""
    if isinstance(node, list):
        return [_json_schema(n, components) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    out = {k: _json_schema(v, components) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def test_lens_understanding_matches_its_openapi_schema(client):
    """Issue 3: one typed result; a face photo fills skin tones (and the schema types them)."""
    import jsonschema
    import skimage.data

    spec = client.get("/openapi.json").get_json()
    components = spec["components"]["schemas"]
    resp = client.post("/api/v1/lens", data={"image": (io.BytesIO(encode_jpeg(skimage.data.astronaut())),
                                                       "astronaut.jpg")})
    assert resp.status_code == 200
    understanding = resp.get_json()["understanding"]
    jsonschema.validate(understanding, _json_schema(components["Understanding"], components))
    tone = understanding["skin_tones"][0]
    assert tone["status"] == "ok" and tone["range"] in (1, 2, 3, 4) and len(tone["face_box"]) == 4
    bad = {**understanding, "skin_tones": [{**tone, "range": "light"}]}
    with pytest.raises(jsonschema.ValidationError):          # the schema is not a bare object
        jsonschema.validate(bad, _json_schema(components["Understanding"], components))


def test_lens_endpoint_completes_the_look_or_says_why_not(client, image_folder):
    """Issue 23.3: `complete=on` adds Complete The Look; a photo with no outfit gets a reason, not an error."""
    def ask(**fields):
        return client.post("/api/v1/lens", data={"image": (io.BytesIO(_png(image_folder / "green.png")), "q.png"),
                                                 **fields})
    body = ask(complete="on").get_json()
    assert body["complete"]["items"] == [] and body["complete"]["reason"].startswith("no outfit in the photo")
    assert "complete" in body["timings_ms"]
    assert ask().get_json()["complete"] is None
    bad = ask(complete="maybe")
    assert bad.status_code == 400 and "'complete'" in bad.get_json()["error"]
