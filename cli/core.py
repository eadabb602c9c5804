"""The core ``lens`` commands: ``models``, ``synth``, ``index``, ``query``, ``detect``, ``train-categories``, ``demo``.

:func:`add_parsers` registers them and returns ``{name: handler}``; handlers
take ``(args, config)``, print their output and return an exit code.  Each
handler imports what it runs inside itself: the modules load torch, FAISS or
mediapipe, which ``lens --help`` and ``lens models`` must not wait for.

Tested in ``tests/test_cli.py``.
"""
from __future__ import annotations

import json
import os
import sys


def add_parsers(sub) -> dict:
    """Register the core commands on ``sub`` (argparse sub-parsers)."""
    m = sub.add_parser("models", help="list, fetch or prepare model weights")
    m.add_argument("action", nargs="?", default="list", choices=["list", "fetch", "prepare"])
    m.add_argument("names", nargs="*", help="models to fetch")
    m.add_argument("--json", action="store_true", help="print JSON")

    s = sub.add_parser("synth", help="generate the synthetic ground-truth catalog")
    s.add_argument("out")
    s.add_argument("--products", type=int, default=1000)
    s.add_argument("--scenes", type=int, default=300)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1)

    i = sub.add_parser("index", help="add, update or delete catalog items (resumes where it stopped)")
    i.add_argument("path", nargs="?", help="a folder of images or a JSONL manifest (same as --add)")
    i.add_argument("--add", metavar="PATH", help="a folder of images or a JSONL manifest to add")
    i.add_argument("--update", action="store_true",
                   help="re-index items already in the catalog (new image, metadata or models)")
    i.add_argument("--delete", nargs="+", metavar="ID", help="remove these item ids (and their crops)")
    i.add_argument("--catalog", help="catalog folder (default: catalog.path)")
    i.add_argument("--rebuild", action="store_true", help="start the catalog from empty")
    i.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="map batches in this process (default) or on Ray Data")
    i.add_argument("--ray-address", default="local", help="Ray cluster: local (start one), auto or ADDRESS")
    i.add_argument("--workers", type=int, default=2, help="Ray actors that map batches (default 2)")

    q = sub.add_parser("query", help="search the catalog with an image; prints JSON")
    q.add_argument("image")
    q.add_argument("--box", help="search this region: x1,y1,x2,y2 in pixels")
    q.add_argument("--k", type=int, help="results to return (default: query.k)")
    q.add_argument("--catalog", help="catalog folder (default: catalog.path)")
    q.add_argument("--source", action="append", metavar="NAME",
                   help="visual, object, text or all (repeatable or comma-separated; default: query.sources)")
    q.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                   help="category, color, skin_tone_range or body_type_range (repeatable)")
    q.add_argument("--text", help="words for the text source (default: the image's annotations)")
    q.add_argument("--diversity", choices=["on", "off"],
                   help="DPP diversity over skin tone, body type and colour (default: blend.diversity)")

    dt = sub.add_parser("detect", help="detect objects, faces, people and garments; prints JSON")
    dt.add_argument("image")
    dt.add_argument("--preview", metavar="OUT", help="also write an annotated image here (.jpg/.png)")

    t = sub.add_parser("train-categories", help="train the category and pattern heads from a manifest")
    t.add_argument("--manifest", required=True, help="a JSONL manifest (or its folder) with labels")
    t.add_argument("--fields", default="category,pattern",
                   help="labelled fields to train heads for (default: category,pattern)")
    t.add_argument("--holdout", type=float, default=0.2, help="share of products held out (0.2)")
    t.add_argument("--seed", type=int, default=0)
    d = sub.add_parser("demo", help="build the demo catalog and serve it (or run one query)")
    d.add_argument("--no-serve", action="store_true", help="run one sample query and print it")
    return {"models": cmd_models, "synth": cmd_synth, "index": cmd_index, "query": cmd_query,
            "detect": cmd_detect, "train-categories": cmd_train_categories, "demo": cmd_demo}


def cmd_models(args, config) -> int:
    from lens.models import ModelStore

    store = ModelStore.from_config(config.models)
    if args.action == "fetch":
        for name in args.names or [s.name for s in store.status() if not s.present]:
            print(f"{name}: {store.fetch(name)}")
        return 0
    if args.action == "prepare":
        missing = [s for s in store.status() if s.required and not s.present]
        for s in missing:
            print(f"lens: missing model '{s.name}': get it with: {s.how_to_get}", file=sys.stderr)
        if missing:
            return 1
        store.verify("mobilenet_v2")
        print(f"models ready ({sum(s.present for s in store.status())} present; "
              f"COCO detectors are optional: `lens models` lists them)")
        return 0
    from detection.rcnn import describe_detector

    rows, detector = store.status(), describe_detector(config.detection, store)
    if args.json:
        print(json.dumps({"models": [r.__dict__ for r in rows], "detector": detector}, indent=2))
        return 0
    print(f"{'model':38} {'present':8} {'size':>9}  source / how to get")
    for r in rows:
        size = f"{r.size_bytes / 1e6:.1f} MB" if r.present else "-"
        where = r.path if r.present else f"missing: {r.how_to_get}"
        print(f"{r.name:38} {'yes' if r.present else 'no':8} {size:>9}  {r.source}: {where}")
    print(detector)
    return 0


def cmd_synth(args, config) -> int:
    from lens.synth import generate_catalog

    manifest = generate_catalog(args.out, args.products, args.scenes, args.seed, args.workers)
    print(f"wrote {manifest}")
    return 0


def cmd_index(args, config) -> int:
    from lens.manifest import read_items
    from lens.pipeline.facade import Lens
    from lens.pipeline.indexing import CatalogWriter, IndexMapper, index_items, run_indexing

    path = args.add or args.path
    if path and args.add and args.path:
        raise ValueError("index: give the PATH once (positional or --add)")
    if not path and not args.delete:
        raise ValueError("index: nothing to do: give PATH (or --add PATH) and/or --delete ID")
    items = read_items(path) if path else []       # validate before loading models
    lens = Lens.from_config(config, catalog_dir=args.catalog)
    if args.rebuild:
        from lens.catalog import Catalog

        lens.catalog = Catalog.open(config, lens.embedder.settings(), args.catalog, rebuild=True)
    for item_id in args.delete or []:
        found = lens.catalog.delete(item_id)
        print(f"{'deleted' if found else 'not in the catalog:'} {item_id}")
    if not items:
        return 0
    if args.engine == "ray":
        report = index_items(items, lens, "ray", args.ray_address, args.workers,
                             config.embedder.batch_size, update=args.update)
    else:
        report = run_indexing(items, IndexMapper.from_lens(lens), CatalogWriter(lens.catalog),
                              config.embedder.batch_size, update=args.update)
    for _path, error in report.failures:
        print(f"lens: skipped {error}", file=sys.stderr)
    print(f"indexed {report.added} new or updated, {report.skipped} already indexed, "
          f"{len(report.failures)} failed; catalog {lens.catalog.directory} holds {len(lens.catalog)}")
    return 1 if report.failures else 0


def cmd_query(args, config) -> int:
    from lens.imageio import load_image
    from lens.pipeline.facade import Lens

    rgb = load_image(args.image, config.server.max_pixels)   # fail fast on bad input
    box = None
    if args.box:
        from lens.boxes import parse_box

        box = parse_box(args.box, (rgb.shape[1], rgb.shape[0]))
    lens = Lens.from_config(config, catalog_dir=args.catalog)
    if len(lens.catalog) == 0:
        raise ValueError(f"catalog {lens.catalog.directory} is empty: run `lens index PATH` first")
    from lens.types import Filters

    sources = [n.strip() for a in args.source or [] for n in a.split(",") if n.strip()] or None
    result = lens(rgb, box=box, k=args.k, sources=sources, filters=Filters.from_pairs(args.filter),
                  text=args.text, diversity=None if args.diversity is None else args.diversity == "on")
    print(json.dumps(result.to_dict(), indent=2))
    return 0


def cmd_detect(args, config) -> int:
    from detection.crops import make_crops
    from lens.imageio import load_image
    from lens.pipeline.bundle import ModelBundle

    if args.preview:
        from lens.imageio import check_output_image

        check_output_image(args.preview)
    rgb = load_image(args.image, config.server.max_pixels, name=args.image)
    models = ModelBundle(config)
    pipeline = models.detector
    found = pipeline(rgb)
    crops = make_crops(found, rgb.shape[1], rgb.shape[0], models.limits)
    if args.preview:
        from detection.preview import draw
        from lens.imageio import save_image

        save_image(draw(rgb, found, crops), args.preview)
    print(json.dumps({"image": args.image, "width": rgb.shape[1], "height": rgb.shape[0],
                      "detectors": pipeline.names, "detections": [d.to_dict() for d in found],
                      "crops": [c.to_dict() for c in crops], "preview": args.preview}, indent=2))
    return 0


def cmd_train_categories(args, config) -> int:
    from lens.evaluation.commands import emit
    from lens.evaluation.common import EvalReport
    from lens.pipeline.bundle import ModelBundle
    from lens.understanding.category_head import head_paths, train_from_manifest

    outs = head_paths(config, [f.strip() for f in args.fields.split(",") if f.strip()])
    figures = train_from_manifest(args.manifest, ModelBundle(config).embedder, outs, args.holdout, args.seed)
    emit(EvalReport(f"heads trained on {args.manifest}", {
        f"{field} {name}": value for field, f in figures.items() if isinstance(f, dict)
        for name, value in f.items()}))
    return 0


def cmd_demo(args, config) -> int:
    from cli.demo import run_demo

    return run_demo(config, lambda line: print(line, flush=True), serve=not args.no_serve)
