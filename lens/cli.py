"""The ``lens`` command line.  Every command prints one line per error and exits non-zero.

Commands: ``models`` (list / fetch / prepare), ``synth``, ``index``,
``query``, ``detect``, ``serve``, ``train-categories``, ``eval retrieval|colors|skin-tone|body-type|text|diversity``,
``demo``.  Global options:
``--config NAME|PATH`` and ``--set key=value`` (repeatable) for any config key.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys

log = logging.getLogger("lens")
_EXTRA_COMMANDS: dict = {}   # commands other packages register (detection.commands)


def detection_commands(sub) -> dict:
    """``train-detector`` and ``export-detector`` live with the detector code."""
    from detection.commands import add_parsers

    return add_parsers(sub)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lens", description="Lens: visual discovery over your catalog")
    p.add_argument("-c", "--config", default=os.environ.get("LENS_CONFIG", "default"),
                   help="config name in configs/ or a YAML path (default: default)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set query.k=50 (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

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

    v = sub.add_parser("serve", help="run the web UI and REST API (development server)")
    v.add_argument("--host")
    v.add_argument("--port", type=int)
    v.add_argument("--catalog", help="catalog folder (default: catalog.path)")

    t = sub.add_parser("train-categories", help="train the category and pattern heads from a manifest")
    t.add_argument("--manifest", required=True, help="a JSONL manifest (or its folder) with labels")
    t.add_argument("--fields", default="category,pattern",
                   help="labelled fields to train heads for (default: category,pattern)")
    t.add_argument("--holdout", type=float, default=0.2, help="share of products held out (0.2)")
    t.add_argument("--seed", type=int, default=0)

    e = sub.add_parser("eval", help="evaluate against the synthetic ground truth")
    esub = e.add_subparsers(dest="evaluation", required=True)
    from lens.evaluation import add_eval_arguments

    add_eval_arguments(esub.add_parser("retrieval", help="top-1, scene-crop recall@10, object recall@20"))
    add_eval_arguments(esub.add_parser("colors", help="dominant colour under each lighting condition"))
    add_eval_arguments(esub.add_parser("skin-tone", help="per-range skin tone figures (re-toned photos, "
                                                        "synthetic people)"), scenes=600)   # ~50-75 faces a range
    add_eval_arguments(esub.add_parser("body-type", help="per-range body type figures (synthetic people)"),
                       scenes=600)   # ~30 full-body people a range
    from lens.diversity_eval import add_arguments as add_diversity_arguments
    from lens.text_eval import add_text_eval_arguments

    dv = esub.add_parser("diversity", help="representation@10 and precision@10, diversity off and on")
    add_eval_arguments(dv)
    add_diversity_arguments(dv)

    add_text_eval_arguments(esub.add_parser("text", help="attribute text queries (\"red striped dress\"): "
                                                          "precision per query type"))

    d = sub.add_parser("demo", help="build the demo catalog and serve it (or run one query)")
    d.add_argument("--no-serve", action="store_true", help="run one sample query and print it")
    _EXTRA_COMMANDS.update(detection_commands(sub))
    from lens.labeling.commands import add_eval_parser, add_parsers as labeling_parsers

    add_eval_parser(esub)
    _EXTRA_COMMANDS.update(labeling_parsers(sub))
    return p


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
    from lens.facade import Lens
    from lens.indexing import CatalogWriter, IndexMapper, read_items, run_indexing

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
        from lens.labeling.engine import index_items

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
    from lens.facade import Lens
    from lens.imageio import load_image

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
    from detection.crops import CropLimits, make_crops
    from detection.pipeline import DetectionPipeline
    from lens.imageio import load_image
    from lens.models import ModelStore

    if args.preview:
        from lens.imageio import check_output_image

        check_output_image(args.preview)
    rgb = load_image(args.image, config.server.max_pixels, name=args.image)
    pipeline = DetectionPipeline.from_config(config.detection, ModelStore.from_config(config.models))
    found = pipeline(rgb)
    crops = make_crops(found, rgb.shape[1], rgb.shape[0], CropLimits.from_config(config.detection))
    if args.preview:
        from detection.preview import draw
        from lens.imageio import save_image

        save_image(draw(rgb, found, crops), args.preview)
    print(json.dumps({"image": args.image, "width": rgb.shape[1], "height": rgb.shape[0],
                      "detectors": pipeline.names, "detections": [d.to_dict() for d in found],
                      "crops": [c.to_dict() for c in crops], "preview": args.preview}, indent=2))
    return 0


def cmd_serve(args, config) -> int:
    from web import create_app

    host = args.host or config.server.host
    port = args.port or config.server.port
    app = create_app(config, catalog_dir=args.catalog)
    print(f"Lens is serving on http://{host}:{port}", flush=True)
    app.run(host=host, port=port, threaded=True)
    return 0


def emit(report, json_out: str | None = None) -> None:
    """Print an :class:`lens.evaluation.EvalReport` and, with ``--json``, write its figures."""
    print("\n".join(report.lines()))
    if json_out:
        report.write_json(json_out)


def cmd_train_categories(args, config) -> int:
    from lens.embeddings import make_embedder
    from lens.evaluation import EvalReport
    from lens.models import ModelStore
    from lens.understanding.category_head import head_paths, train_from_manifest

    outs = head_paths(config, [f.strip() for f in args.fields.split(",") if f.strip()])
    embedder = make_embedder(config.embedder, ModelStore.from_config(config.models))
    figures = train_from_manifest(args.manifest, embedder, outs, args.holdout, args.seed)
    emit(EvalReport(f"heads trained on {args.manifest}", {
        f"{field} {name}": value for field, f in figures.items() if isinstance(f, dict)
        for name, value in f.items()}))
    return 0


def cmd_eval(args, config) -> int:
    from lens import evaluation as ev

    if args.evaluation == "skin-tone":
        from lens.understanding.skin_eval import skin_tone_eval

        emit(skin_tone_eval(args), args.json_out)
        return 0
    if args.evaluation == "labels":
        from lens.labeling.commands import cmd_eval_labels

        return cmd_eval_labels(args, config)
    if args.evaluation == "text":
        from lens.text_eval import text_eval

        emit(text_eval(args, config), args.json_out)
        return 0
    if args.evaluation == "body-type":
        from lens.understanding.body_eval import body_type_eval

        emit(body_type_eval(args, config), args.json_out)
        return 0
    folder = ev.eval_catalog(args)
    if args.evaluation == "colors":
        from lens.understanding.color_eval import color_figures

        figures = color_figures(ev.read_manifest(folder), args.seed)
    elif args.evaluation == "diversity":
        from lens.diversity_eval import diversity_eval

        lens = ev.build_eval_lens(config, folder)
        figures = diversity_eval(lens, folder, ev.read_manifest(folder), args)
    else:
        lens = ev.build_eval_lens(config, folder)
        records = ev.read_manifest(folder)
        figures = ev.retrieval_eval(lens, records, folder, args.seed)
    emit(ev.EvalReport(f"{args.evaluation} on {folder}", figures), args.json_out)
    return 0


def cmd_demo(args, config) -> int:
    from lens.demo import run_demo

    return run_demo(config, lambda line: print(line, flush=True), serve=not args.no_serve)


COMMANDS = {"models": cmd_models, "synth": cmd_synth, "index": cmd_index, "query": cmd_query, "detect": cmd_detect,
            "serve": cmd_serve, "train-categories": cmd_train_categories, "eval": cmd_eval, "demo": cmd_demo}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from lens.config import load_config

    try:
        config = load_config(args.config, args.overrides)
        return {**COMMANDS, **_EXTRA_COMMANDS}[args.command](args, config)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"lens: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lens: interrupted; everything acknowledged so far is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
