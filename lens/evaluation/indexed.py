"""The catalog an evaluation searches: a synthetic catalog indexed once under its own folder.

``folder/catalog`` holds the MobileNetV2 index; another embedder indexes into
``folder/catalog-<name>[-<checkpoint digest>]`` (a trained model's every version its own), so
comparing embedders never rebuilds the other's index.

Tested in ``tests/test_e2e.py`` and by the evaluations that use it.
"""
from __future__ import annotations

from pathlib import Path

from lens.config import LensConfig
from lens.manifest import read_items
from lens.pipeline.bundle import ModelBundle
from lens.pipeline.facade import Lens
from lens.pipeline.indexing import index_catalog


def build_eval_lens(config: LensConfig, folder: Path, progress: bool = True):
    """A Lens over ``folder``'s catalog, indexed once under :func:`catalog_dir`."""
    models = ModelBundle(config)
    lens = Lens.from_config(config, catalog_dir=str(catalog_dir(folder, models.embedder.settings())),
                            models=models)
    items = read_items(folder)
    index_catalog(lens, items, progress)
    return lens


def catalog_dir(folder: Path, embedder: dict) -> Path:
    """Where ``folder``'s catalog is indexed for an embedder with these settings."""
    if embedder.get("name", "mobilenet_v2") == "mobilenet_v2":
        return folder / "catalog"
    parts = ["catalog", embedder["name"]] + ([embedder["checkpoint"]] if "checkpoint" in embedder else [])
    return folder / "-".join(parts)
