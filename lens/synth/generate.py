"""Catalog generation: products and scenes in parallel, one manifest, written atomically.

Layout of ``out_dir``: ``products/p00000.jpg`` (256 x 256), ``scenes/s00000.jpg``
(640 x 480), ``manifest.jsonl`` (products first, then scenes, one JSON
record a line) and ``catalog.json`` (the settings).  Every item is a pure
function of ``(seed, index)``, so the output is byte-identical whatever the
number of workers or their order, and re-running regenerates it identically.

Workers are started with the ``spawn`` method (safe after mediapipe and
OpenCV have started threads in the parent), so a script that calls
:func:`generate_catalog` with ``workers > 1`` needs the usual
``if __name__ == "__main__":`` guard.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from lens.console import progress as progress_bar
from lens.files import atomic_write, atomic_write_text
from lens.palette import MST_HEX, NAMED_COLORS
from lens.synth import faces, styles
from lens.synth.compose import make_cutout, save_cutout, set_cutout_dir
from lens.synth.perturb import LIGHTING, apply_perturbation, random_perturbation
from lens.synth.render import product_photo, render_object
from lens.synth.scene import HEIGHT, MIN_PRODUCTS, WIDTH, render_scene
from lens.synth.spec import CANVAS, CATEGORIES, PATTERNS, make_product

log = logging.getLogger(__name__)
VERSION = "1.1"          # 1.1: person_mst shuffles skin tones per block; people record their key light
PRODUCT_CHUNK, SCENE_CHUNK = 25, 5
SALT_PRODUCT_PERT, SALT_SCENE_PERT, SALT_NOISE = 5, 3, 6


def _validate(out_dir, products, scenes, seed, workers) -> Path:
    """Check the arguments; create and probe the output folders. Raises ValueError."""
    for name, value in (("products", products), ("scenes", scenes), ("seed", seed), ("workers", workers)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {value!r}")  # noqa: TRY004 (API: ValueError)
    if products < 1:
        raise ValueError(f"products must be >= 1, got {products}")
    if scenes < 0:
        raise ValueError(f"scenes must be >= 0, got {scenes}")
    if scenes > 0 and products < MIN_PRODUCTS:
        raise ValueError(f"scenes need at least {MIN_PRODUCTS} products (to dress people and fill "
                         f"scenes), got {products}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    out = Path(out_dir)
    try:
        for sub in ("products", "scenes"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".probe-"):
            pass
    except OSError as exc:
        raise ValueError(f"output folder {out}: not writable ({exc.strerror or exc})") from None
    return out


def _save_jpeg(rgb: np.ndarray, path: Path, quality: int) -> None:
    """Write ``rgb`` (H x W x 3 uint8) as a baseline JPEG via a temp file (deterministic bytes)."""
    atomic_write(path, lambda fh: Image.fromarray(rgb).save(fh, format="JPEG", quality=int(quality)),
                 durable=False)       # regenerated from the seed: an fsync per image buys nothing


def product_record(seed: int, index: int, out: Path | None = None, styled: bool = False) -> dict:
    """Build (and when ``out`` is given, write) product ``index``; returns its manifest record
    (``styled``: with the styles that admit it, :mod:`lens.synth.styles`)."""
    rec = make_product(seed, index)
    if styled:
        rec["styles"] = styles.fitting(rec["color"], rec["pattern"])
    obj = render_object(rec["render"])
    pert = random_perturbation(np.random.default_rng([seed, index, SALT_PRODUCT_PERT]))
    if out is not None:
        save_cutout(seed, index, make_cutout(rec, obj))      # scenes reuse it instead of re-rendering
        photo = apply_perturbation(product_photo(rec["render"], obj=obj), pert,
                                   [seed, index, SALT_NOISE], jpeg=False)
        _save_jpeg(photo, out / rec["image"], pert["jpeg_quality"])
    rec["main_fraction"] = round(obj.main_fraction, 4)
    rec["perturbation"] = pert
    rec["render"] = rec.pop("render")        # keep the long render recipe last
    return rec


def scene_record(seed: int, index: int, products: int, out: Path | None = None, styled: bool = False) -> dict:
    """Build (and when ``out`` is given, write) scene ``index``; returns its manifest record."""
    img, rec = render_scene(seed, index, products, styled)
    pert = random_perturbation(np.random.default_rng([seed, index, SALT_SCENE_PERT]))
    if out is not None:
        rgb = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
        rgb = apply_perturbation(rgb, pert, [seed, index, SALT_NOISE + 1], jpeg=False)
        _save_jpeg(rgb, out / rec["image"], pert["jpeg_quality"])
    rec["perturbation"] = pert
    return rec


def _job(kind: str, seed: int, start: int, stop: int, products: int, out: str, styled: bool = False) -> list[dict]:
    """One chunk of items (runs in a worker or in-process)."""
    folder = Path(out)
    if kind == "product":
        return [product_record(seed, i, folder, styled) for i in range(start, stop)]
    return [scene_record(seed, i, products, folder, styled) for i in range(start, stop)]


def _init_worker(asset: dict | None, cutouts: str) -> None:
    cv2.setNumThreads(1)                 # one process per core already
    faces.install_face_asset(asset)
    set_cutout_dir(cutouts)
    logging.getLogger("lens").setLevel(logging.WARNING)


def _chunks(products: int, scenes: int) -> list[tuple[str, int, int]]:
    jobs = [("product", s, min(s + PRODUCT_CHUNK, products)) for s in range(0, products, PRODUCT_CHUNK)]
    jobs += [("scene", s, min(s + SCENE_CHUNK, scenes)) for s in range(0, scenes, SCENE_CHUNK)]
    return jobs


def _run(jobs, seed, products, out: Path, workers: int, progress: bool, asset, cutouts: Path,
         styled: bool = False) -> dict:
    """Run all chunks; returns {(kind, index): record}."""
    total = sum(stop - start for _, start, stop in jobs)
    bar = progress_bar(total=total, desc="synth catalog", unit="item", disable=not progress)
    results: dict = {}

    def collect(kind, start, records):
        for offset, rec in enumerate(records):
            results[(kind, start + offset)] = rec
        bar.update(len(records))

    try:
        if workers == 1:
            for kind, start, stop in jobs:
                collect(kind, start, _job(kind, seed, start, stop, products, str(out), styled))
        else:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                     initargs=(asset, str(cutouts))) as pool:
                futures = {pool.submit(_job, kind, seed, start, stop, products, str(out), styled): (kind, start)
                           for kind, start, stop in jobs}
                for fut in as_completed(futures):
                    collect(*futures[fut], fut.result())
    finally:
        bar.close()
    return results


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _write_atomic(path: Path, text: str) -> None:
    atomic_write_text(path, text, durable=False)     # the manifest is rewritten by re-running


def settings(seed: int, products: int, scenes: int, styled: bool = False) -> dict:
    """The catalog.json content: generator version, seed, counts and vocabularies (and the style
    rules, for a styled catalog)."""
    return {"generator": "lens.synth", "version": VERSION, "seed": int(seed), "products": int(products),
            **({"styles": {"rules": list(styles.RULES), "families": styles.FAMILIES}} if styled else {}),
            "scenes": int(scenes), "product_size": [CANVAS, CANVAS], "scene_size": [WIDTH, HEIGHT],
            "categories": CATEGORIES, "patterns": PATTERNS, "lighting": LIGHTING,
            "palette": NAMED_COLORS, "mst_hex": MST_HEX, "manifest": "manifest.jsonl"}


def generator_version(folder) -> str | None:
    """The generator version recorded in ``folder/catalog.json``; None when absent or unreadable."""
    try:
        return json.loads((Path(folder) / "catalog.json").read_text()).get("version")
    except (OSError, ValueError, AttributeError):
        return None


def generate_catalog(out_dir, products: int = 1000, scenes: int = 300, seed: int = 0, workers: int = 2,
                     progress: bool = True, styled: bool = False) -> Path:
    """Generate the synthetic catalog into ``out_dir``; returns the manifest path.  ``styled``: each
    scene draws a style and shows only products it admits (:mod:`lens.synth.styles`; Complete The
    Look's ground truth); without it the catalog is exactly what it was.

    Raises ValueError (one line) for products < 1, scenes < 0, scenes with
    fewer than ``MIN_PRODUCTS`` products, a negative seed, workers < 1 or an
    unwritable output folder.
    """
    out = _validate(out_dir, products, scenes, seed, workers)
    asset = faces.face_asset() if scenes > 0 else None
    log.info("generating %d products and %d scenes into %s (seed %d, %d workers)",
             products, scenes, out, seed, workers)
    cutouts = out / ".cutouts"               # product renders shared with the scene phase
    shutil.rmtree(cutouts, ignore_errors=True)
    cutouts.mkdir()
    set_cutout_dir(cutouts)
    try:
        results = _run(_chunks(products, scenes), seed, products, out, workers, progress, asset, cutouts, styled)
    finally:
        set_cutout_dir(None)
        shutil.rmtree(cutouts, ignore_errors=True)
    order = [("product", i) for i in range(products)] + [("scene", i) for i in range(scenes)]
    lines = [json.dumps(results[key], default=_json_default, ensure_ascii=False) for key in order]
    manifest = out / "manifest.jsonl"
    _write_atomic(manifest, "\n".join(lines) + "\n")
    _write_atomic(out / "catalog.json", json.dumps(settings(seed, products, scenes, styled), indent=2) + "\n")
    log.info("wrote %s (%d records)", manifest, len(lines))
    return manifest
