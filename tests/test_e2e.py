"""End to end over a small synthetic catalog (200 products, 60 scenes).

The issue's bar: the exact product is the top-1 result for at least 90% of
its own product photos re-rendered with a perturbation.
"""
import json
import subprocess
import sys

import pytest

from lens.evaluation.common import read_manifest
from lens.evaluation.retrieval import retrieval_figures
from lens.manifest import read_items
from lens.pipeline.indexing import CatalogWriter, IndexMapper, run_indexing
from tests.conftest import ROOT, isolated, no_heads

# Every test here runs the whole pipeline over a generated catalog: indexing it (the
# module's ``indexed`` fixture) or the CLI in a subprocess: ~15 minutes in all on 2 cores.
# `make test` runs them; `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def indexed(small_catalog, models, tmp_path_factory):
    """The demo config's whole pipeline as shipped (its unified embedding and that model's category
    and pattern heads, the trained Faster R-CNN) over the small catalog (seed 3: products the
    unified embedding never saw)."""
    from lens.config import load_config
    from lens.pipeline.bundle import ModelBundle
    from lens.pipeline.facade import Lens

    config = load_config("demo", [*isolated(tmp_path_factory.mktemp("e2e"), imagenet=False),
                                  "models.category_head=", "models.pattern_head="])
    lens = Lens.from_config(config, models=ModelBundle(config, reuse=models))
    assert lens.embedder.settings()["name"] == "unified"
    report = run_indexing(read_items(small_catalog), IndexMapper.from_lens(lens),
                          CatalogWriter(lens.catalog), progress=False)
    assert report.failures == [] and report.added == 260
    return lens


def test_perturbed_product_photos_find_their_product(indexed, small_catalog):
    figures = retrieval_figures(indexed, read_manifest(small_catalog), seed=5, progress=False)
    assert figures["queries"] == 200
    assert figures["top-1"] >= 0.90, figures
    assert figures["recall@10"] >= figures["top-1"]


def test_scene_query_returns_regions_understanding_and_results(indexed, small_catalog):
    scene = next(r for r in read_manifest(small_catalog) if r["kind"] == "scene" and r["people"])
    result = indexed(str(small_catalog / scene["image"]), k=5)
    # the scene itself is in the catalog: on the first page (first for 29 and 28 of 30 such scenes of
    # seeds 3 and 7: README "Measured")
    assert scene["id"] in [r["id"] for r in result.results]
    assert any(r["label"] == "face" for r in result.regions)
    assert result.understanding["colors"] and result.understanding["categories"]


def test_box_on_a_scene_object_finds_that_product(indexed, small_catalog):
    scenes = [r for r in read_manifest(small_catalog) if r["kind"] == "scene"]
    hits = total = 0
    for scene in scenes[:20]:
        obj = max(scene["objects"], key=lambda o: (o["box"][2] - o["box"][0]) * (o["box"][3] - o["box"][1]))
        result = indexed(str(small_catalog / scene["image"]), box=obj["box"], k=10)
        total += 1
        hits += obj["product_id"] in [r["id"] for r in result.results]
    assert hits / total >= 0.5, f"{hits}/{total}"


def test_eval_and_demo_commands(small_catalog, tmp_path):
    out = tmp_path / "figures.json"
    proc = subprocess.run([sys.executable, "-m", "cli.main", *no_heads(), "--config", "demo", "eval", "retrieval",
                           "--catalog", str(small_catalog), "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "top-1" in proc.stdout and "recall@10" in proc.stdout
    figures = json.loads(out.read_text())
    assert figures["queries"] == 200 and "crop recall@10" in figures and "object recall@20" in figures
    assert 0.0 <= figures["text color+pattern+category P@min(10,R)"] <= 1.0     # the text source's precision too


def test_demo_no_serve_prints_results(tmp_path):
    import numpy as np
    from lens.index.vectors import VectorIndex

    old = VectorIndex(1280, embedder={"name": "mobilenet_v2", "dim": 1280})   # an older demo's catalog
    old.add(["old"], np.eye(1, 1280, dtype=np.float32))
    old.save(tmp_path / "catalog" / "index", "visual")
    sets = [f"demo.synth_dir={tmp_path / 'synth'}", "demo.products=40", "demo.scenes=12",
            f"catalog.path={tmp_path / 'catalog'}", "text.model=none"]      # the demo's own models
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "--config", "demo",
         *(arg for s in sets for arg in ("--set", s)), "demo", "--no-serve"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "rank" in proc.stdout and "<- the product" in proc.stdout
    assert "indexed with embedder mobilenet_v2; re-indexing it with unified" in proc.stdout
    assert "categories: " in proc.stdout and "held-out accuracy" not in proc.stdout  # the unified model's heads
    assert not list(tmp_path.glob("*.pt"))                                         # nothing to train


def test_scene_crops_are_in_the_object_index(indexed, small_catalog):
    from lens.catalog import parent_id

    kinds = {r["id"]: r["kind"] for r in read_manifest(small_catalog)}
    crops = indexed.catalog.objects.ids
    assert len(crops) >= 60                                  # several objects per scene
    assert {kinds[parent_id(c)] for c in crops} == {"scene"}
    scene = indexed.catalog.store.get(parent_id(crops[0]))
    assert any(c["id"] == crops[0] for c in scene["crops"])
    assert "ObjectDetector" in indexed.detector.names         # demo.yaml: the trained detector
