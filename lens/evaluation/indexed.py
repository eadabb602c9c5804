"""The catalog an evaluation searches: a synthetic catalog indexed once under its own folder.

Tested in ``tests/test_e2e.py`` and by the evaluations that use it.
"""
from __future__ import annotations

from pathlib import Path

from lens.config import LensConfig
from lens.manifest import read_items
from lens.pipeline.facade import Lens
from lens.pipeline.indexing import index_catalog


def build_eval_lens(config: LensConfig, folder: Path, progress: bool = True):
    """A Lens over ``folder``'s catalog, indexed once under ``folder/catalog``."""
    lens = Lens.from_config(config, catalog_dir=str(folder / "catalog"))
    items = read_items(folder)
    index_catalog(lens, items, progress)
    return lens
