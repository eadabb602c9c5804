"""Crash safety: `kill -9` in the middle of `lens index` loses nothing acknowledged, corrupts nothing."""
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from lens.manifest import read_items
from lens.pipeline.indexing import CatalogWriter, IndexMapper, run_indexing
from tests.conftest import ROOT, isolated, no_heads


def _acknowledged(db) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow                             # `lens index` in a subprocess over 40 generated images
def test_kill_9_while_indexing_loses_nothing_acknowledged(tmp_path, lens_factory):
    rng = np.random.default_rng(1)
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(40):
        img = np.full((160, 200, 3), 250, np.uint8)
        img[30:130, 40:160] = rng.integers(0, 255, 3)
        Image.fromarray(img).save(folder / f"img{i:02d}.png")
    sets = [*isolated(tmp_path), "embedder.batch_size=2"]
    cmd = [sys.executable, "-m", "cli.main", "--config", "demo", *no_heads(),
           *(a for s in sets for a in ("--set", s)), "index", str(folder)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "catalog" / "store.sqlite"
    deadline = time.time() + 240
    while _acknowledged(db) < 6 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    acknowledged = _acknowledged(db)
    assert 6 <= acknowledged < 40, "the kill must land mid-run"
    lens = lens_factory()                                    # reopens store and every index
    ids = set(lens.catalog.store.ids())
    assert len(ids) == acknowledged and ids <= set(lens.catalog.visual.ids)
    report = run_indexing(read_items(folder), IndexMapper.from_lens(lens), CatalogWriter(lens.catalog),
                          batch_size=8, progress=False)
    assert (report.added, report.skipped, report.failures) == (40 - acknowledged, acknowledged, [])
    assert len(lens_factory().catalog.visual) == 40 == len(lens.catalog)
