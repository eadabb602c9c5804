"""``lens demo``: prepare models, build the demo catalog and its index, then serve or query.

Each step skips what is already done, so a second ``make demo`` starts in
seconds; a demo catalog indexed by another embedder (an older demo config) is
re-indexed.  ``--no-serve`` re-renders one catalog product under warm light and
blur (a query the catalog has never seen), searches with it and prints the
results.

``lens demo --catalog grocery PATH`` does the same over a real catalog: the Grocery Store
dataset at PATH converted (``lens data grocery``) into ``data/demo/grocery`` (beside
``demo.synth_dir``), its 81 products indexed into ``data/demo/grocery/catalog`` with the given config (``configs/default.yaml``
unless ``--config`` says otherwise); ``--no-serve`` searches with one in-store validation photo.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable

from dataclasses import replace

from lens.catalog import Catalog
from lens.config import LensConfig
from lens.datasets import grocery
from lens.imageio import encode_jpeg
from lens.manifest import read_items
from lens.pipeline.bundle import ModelBundle
from lens.pipeline.facade import Lens
from lens.pipeline.indexing import index_catalog
from lens.synth import VERSION, generate_catalog, generator_version, render_product_view
from lens.understanding.category_head import HEAD_FIELDS, head_paths, train_from_manifest
from web.app import create_app

log = logging.getLogger(__name__)
SAMPLE_PERTURBATION = {"lighting": "warm", "lighting_strength": 0.6, "blur_sigma": 1.0,
                       "noise_sigma": 0.0, "jpeg_quality": 85}


def build_demo_catalog(config: LensConfig, say: Callable[[str], None], progress: bool = True):
    """Synthesise (if needed) and index (what is missing) the demo catalog; returns a Lens.
    ``say`` receives one line per step (the CLI prints them)."""
    models = ModelBundle(config)
    models.store.verify("mobilenet_v2")
    synth = Path(config.demo.synth_dir)
    made = generator_version(synth)
    if (synth / "manifest.jsonl").is_file() and made != VERSION:
        log.warning("%s was made by generator %s (now %s); delete it to rebuild the demo catalog",
                    synth, made, VERSION)
    if not (synth / "manifest.jsonl").is_file():
        say(f"generating the synthetic catalog in {synth} "
              f"({config.demo.products} products, {config.demo.scenes} scenes)")
        generate_catalog(synth, config.demo.products, config.demo.scenes, config.demo.seed,
                         progress=progress)
    heads = {f: p for f, p in head_paths(config, list(HEAD_FIELDS)).items()
             if getattr(config.models, HEAD_FIELDS[f]) and not Path(p).is_file()}
    if heads:          # before the understanding loads them: bundle parts build on first use
        say(f"training the {' and '.join(heads)} heads -> {', '.join(heads.values())}")
        figures = train_from_manifest(synth, models.embedder, heads, progress=progress)
        for field in heads:
            f = figures[field]
            say(f"  {field}: held-out accuracy {f['held_out_accuracy']:.3f} on {f['held_out']} products")
    built, wanted = Catalog.indexed_with(config.catalog.path), models.embedder.settings()
    if built is not None and built != wanted:      # the demo owns its catalog: re-index, don't refuse
        say(f"the demo catalog was indexed with embedder {built.get('name')}; re-indexing it with {wanted['name']}")
    lens = Lens.from_config(config, models=models, rebuild=built is not None and built != wanted)
    report = index_catalog(lens, read_items(synth), progress)
    say(f"catalog {lens.catalog.directory}: {len(lens.catalog)} items "
          f"({report.added} indexed now, {report.skipped} already there)")
    return lens


def sample_query(config: LensConfig, lens) -> tuple[Path, dict]:
    """Write a perturbed re-render of the first product and return (path, its record)."""
    synth = Path(config.demo.synth_dir)
    with (synth / "manifest.jsonl").open() as fh:
        record = json.loads(fh.readline())
    rgb = render_product_view(record, SAMPLE_PERTURBATION, view_seed=12345)
    path = Path(config.catalog.path).parent / "sample_query.jpg"
    path.write_bytes(encode_jpeg(rgb, SAMPLE_PERTURBATION["jpeg_quality"]))
    return path, record


def build_grocery_catalog(config: LensConfig, src: str, say: Callable[[str], None], progress: bool = True):
    """Convert the Grocery Store dataset at ``src`` into ``grocery/`` beside ``demo.synth_dir`` and index
    its products there; returns (the config with that catalog, a Lens, a validation query or None)."""
    folder = Path(config.demo.synth_dir).parent / "grocery"
    report = grocery.convert(src, folder)
    say(f"converted {report['products']} Grocery products from {report['source']} into {folder}")
    config = replace(config, catalog=replace(config.catalog, path=str(folder / "catalog")))
    lens = Lens.from_config(config)
    indexed = index_catalog(lens, read_items(folder / "catalog.jsonl"), progress)
    say(f"catalog {lens.catalog.directory}: {len(lens.catalog)} items ({indexed.added} indexed now)")
    queries = read_items(folder / "queries-val.jsonl") if report["queries"].get("val") else []
    return config, lens, (queries[len(queries) // 2] if queries else None)


def _serve(config: LensConfig, lens, say) -> int:
    app = create_app(config, lens=lens)
    say(f"Lens demo is serving on http://{config.server.host}:{config.server.port}  (Ctrl-C to stop)")
    app.run(host=config.server.host, port=config.server.port, threaded=True)
    return 0


def run_demo(config: LensConfig, say: Callable[[str], None], serve: bool = True,
             catalog: str = "synthetic", src: str | None = None) -> int:
    """Build the demo, then serve it or run one sample query; ``say`` gets every output line.
    ``catalog``: ``synthetic`` (the generated demo catalog) or ``grocery`` (the dataset at ``src``)."""
    if catalog == "grocery":
        if not src:
            raise ValueError("lens demo --catalog grocery PATH: give the Grocery Store dataset's folder")
        config, lens, query = build_grocery_catalog(config, src, say)
        if serve:
            return _serve(config, lens, say)
        if query is None:
            say("no validation photos (dataset/val.txt) to query with")
            return 0
        result = lens(query["image"], k=10)
        say(f"\nsample query {query['image']}: an in-store photo of {query['product']}")
        _print_results(result, query["product"], say)
        return 0
    lens = build_demo_catalog(config, say)
    if serve:
        return _serve(config, lens, say)
    path, record = sample_query(config, lens)
    result = lens(str(path), k=10)
    say(f"\nsample query {path}: '{record['title']}' ({record['id']}) under warm light + blur")
    u = result.understanding
    say("colours: " + ", ".join(f"{c['name']} {c['weight']:.2f}" for c in u["colors"]))
    say("categories: " + ", ".join(f"{c['name']} {c['score']:.2f}" for c in u["categories"][:4]))
    _print_results(result, record["id"], say)
    return 0


def _print_results(result, product: str, say) -> None:
    say(f"regions: {len(result.regions)}; timings (ms): {result.timings_ms}")
    say(f"\n{'rank':>4}  {'score':>6}  {'source':7} {'id':8} title")
    for r in result.results:
        mark = "  <- the product" if r["id"] == product else ""
        say(f"{r['rank']:>4}  {r['score']:>6.3f}  {','.join(r['sources']):7} {r['id']:8} "
            f"{r.get('title', '')}{mark}")
