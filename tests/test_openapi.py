"""/openapi.json describes every route, and schemathesis finds no server error against it."""
from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.test_api_items import KEY, make_app


@pytest.fixture(scope="module")
def app(tmp_path_factory, embedder, detector):
    tmp = tmp_path_factory.mktemp("openapi")
    from PIL import Image

    from tests.conftest import solid_image

    folder = tmp / "images"
    folder.mkdir()
    for i, color in enumerate([(200, 30, 40), (20, 160, 60), (30, 40, 200)]):
        Image.fromarray(solid_image(color)).save(folder / f"c{i}.png")
    return make_app(tmp, embedder, detector, f"server.api_key={KEY}", index_folder=folder)


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


def _openapi_path(rule: str) -> str:
    return rule.replace("<path:item_id>", "{item_id}")


def test_every_route_is_documented(app):
    resp = app.test_client().get("/openapi.json")
    assert resp.status_code == 200
    doc = json.loads(resp.get_data(as_text=True))
    assert doc["openapi"].startswith("3.0")
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith("static"):
            continue
        path = doc["paths"].get(_openapi_path(rule.rule))
        assert path is not None, f"{rule.rule} is not in /openapi.json"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in path, f"{method} {rule.rule} is not in /openapi.json"
            for code, response in path[method.lower()]["responses"].items():
                assert code.isdigit() and response
    lens_form = doc["paths"]["/api/v1/lens"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert lens_form["properties"]["k"]["maximum"] == 200 and lens_form["properties"]["image"]["format"] == "binary"
    assert "1 MB" in doc["components"]["responses"]["E413"]["description"]
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _operations(api_schema) -> list:
    return [result.ok() for result in api_schema.get_all_operations()]


@pytest.mark.parametrize("mode, examples", [(GenerationMode.POSITIVE, 30), (GenerationMode.NEGATIVE, 20)])
def test_schemathesis_finds_no_server_error(api_schema, mode, examples):
    """Every operation with valid, then invalid, inputs: no 5xx, and every status,
    content type and body as documented.  With the API key, so writes run too.  (``schemathesis.pytest.from_fixture``
    fails under pytest 9, so hypothesis drives the strategies here.)"""
    operations = _operations(api_schema)
    assert len(operations) == 9        # every documented operation but /openapi.json itself
    calls: dict[str, int] = {}
    for operation in operations:
        label = operation.label

        @given(case=operation.as_strategy(generation_mode=mode, headers={"X-API-Key": KEY}))
        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call_and_validate(checks=CHECKS)
            calls[label] = calls.get(label, 0) + 1  # noqa: B023 (run() runs at once)
            assert response.status_code < 500

        try:
            run()
        except Unsatisfiable:           # negative mode: nothing to break in a bodiless GET
            assert mode == GenerationMode.NEGATIVE
    assert len(calls) >= (9 if mode == GenerationMode.POSITIVE else 3), calls
