"""The handlers of the core ``lens`` commands (:mod:`cli.commands` defines their parsers).

Each takes ``(args, config)``, prints its output and returns an exit code.
This module loads torch, FAISS and mediapipe when imported: :mod:`cli.main`
imports it only to run one of its commands.

Tested in ``tests/test_cli.py``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from cli.demo import run_demo
from detection.crops import make_crops
from detection.preview import draw
from detection.rcnn import describe_detector
from lens.boxes import parse_box
from lens.complete.model import CHECKPOINT as COMPAT_CHECKPOINT
from lens.complete.train import LR as COMPAT_LR
from lens.complete.train import CompatJob, train_compat
from lens.console import progress
from lens.evaluation.commands import emit
from lens.evaluation.common import EvalReport
from lens.imageio import check_output_image, load_image, save_image
from lens.learning.embedding import EmbeddingJob, train_embedding
from lens.learning.trainer import TrainSettings
from lens.manifest import read_items
from lens.models import ModelStore
from lens.pipeline.bundle import ModelBundle
from lens.pipeline.facade import Lens
from lens.pipeline.indexing import CatalogWriter, IndexMapper, index_items, run_indexing
from lens.synth import generate_catalog
from lens.text.minilm import MiniLM
from lens.types import Filters
from lens.understanding.category_head import head_paths, train_from_manifest


def cmd_models(args, config) -> int:
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
    manifest = generate_catalog(args.out, args.products, args.scenes, args.seed, args.workers, styled=args.styles)
    print(f"wrote {manifest}")
    return 0


def cmd_index(args, config) -> int:
    path = args.add or args.path
    if path and args.add and args.path:
        raise ValueError("index: give the PATH once (positional or --add)")
    if not path and not args.delete:
        raise ValueError("index: nothing to do: give PATH (or --add PATH) and/or --delete ID")
    items = read_items(path) if path else []       # validate before loading models
    lens = Lens.from_config(config, catalog_dir=args.catalog, rebuild=args.rebuild)
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
    rgb = load_image(args.image, config.server.max_pixels)   # fail fast on bad input
    box = None
    if args.box:
        box = parse_box(args.box, (rgb.shape[1], rgb.shape[0]))
    lens = Lens.from_config(config, catalog_dir=args.catalog)
    if len(lens.catalog) == 0:
        raise ValueError(f"catalog {lens.catalog.directory} is empty: run `lens index PATH` first")

    sources = [n.strip() for a in args.source or [] for n in a.split(",") if n.strip()] or None
    result = lens(rgb, box=box, k=args.k, sources=sources, filters=Filters.from_pairs(args.filter),
                  text=args.text, diversity=None if args.diversity is None else args.diversity == "on",
                  loose=args.loose, complete=args.complete)
    print(json.dumps(result.to_dict(), indent=2))
    return 0


def cmd_detect(args, config) -> int:
    if args.preview:
        check_output_image(args.preview)
    rgb = load_image(args.image, config.server.max_pixels, name=args.image)
    models = ModelBundle(config)
    pipeline = models.detector
    found = pipeline(rgb)
    crops = make_crops(found, rgb.shape[1], rgb.shape[0], models.limits)
    if args.preview:
        save_image(draw(rgb, found, crops), args.preview)
    print(json.dumps({"image": args.image, "width": rgb.shape[1], "height": rgb.shape[0],
                      "detectors": pipeline.names, "detections": [d.to_dict() for d in found],
                      "crops": [c.to_dict() for c in crops], "preview": args.preview}, indent=2))
    return 0


def cmd_train_categories(args, config) -> int:
    outs = head_paths(config, [f.strip() for f in args.fields.split(",") if f.strip()])
    figures = train_from_manifest(args.manifest, ModelBundle(config).embedder, outs, args.holdout, args.seed,
                                  val=args.val)
    rows = {}
    for field, f in (kv for kv in figures.items() if isinstance(kv[1], dict)):
        for name, value in f.items():
            rows.update({f"{field} accuracy {c}": v for c, v in value.items()} if isinstance(value, dict)
                        else {f"{field} {name}": value})
    emit(EvalReport(f"heads trained on {args.manifest}", rows))
    return 0


def cmd_train_skin_tone(args, config) -> int:
    from lens.evaluation.retoned_ccp import face_crops  # deferred: SciPy and mediapipe, this command only
    from lens.understanding.skin_net import train  # deferred with it: the trainer loads torch

    if args.epochs < 1:
        raise ValueError(f"--epochs {args.epochs}: must be at least 1")
    data = Path(args.real)
    if not (data / "ccp" / "annotations" / "pixel-level").is_dir():
        raise ValueError(f"--real {data}: no ccp/annotations/pixel-level in it")
    crops = face_crops(data, "train", args.limit)
    val = face_crops(data, "val", max(1, args.limit // 4) if args.limit else 0)
    history = train(crops["x"], crops["mst"], (val["x"], val["mst"]), args.out, args.epochs,
                    resume=args.resume, progress=progress, arch=args.arch)
    last = history[-1] if history else {}
    emit(EvalReport(f"skin tone network ({args.arch}) -> {args.out} ({len(crops['x'])} training crops, {len(val['x'])} held out)",
                    {"epochs": last.get("epoch"), "loss": last.get("loss"),
                     **{f"held-out range {r} recall": v for r, v in last.get("val range recall", {}).items()}}))
    return 0


def cmd_train_embedding(args, config) -> int:
    if args.epochs < 1:
        raise ValueError(f"--epochs {args.epochs}: must be at least 1")
    if not 0.0 <= args.holdout < 1.0:
        raise ValueError(f"--holdout {args.holdout}: expected a fraction in [0, 1)")
    out = args.out or config.models.unified or str(Path(config.models.root) / "unified.pt")
    tasks = tuple(t.strip() for t in args.tasks.split(",") if t.strip())
    job = EmbeddingJob(args.manifest, out, tasks, args.views, args.catalog_views, args.holdout, args.clusters,
                       TrainSettings(epochs=args.epochs, seed=args.seed))
    encoder = MiniLM(runtime=config.text.runtime, cache_dir=config.models.root) if "text-clusters" in tasks else None
    figures = train_embedding(job, ModelStore.from_config(config.models), encoder, args.resume, progress=True,
                              on_epoch=lambda row: print(", ".join(f"{k} {v}" for k, v in row.items()),
                                                         file=sys.stderr, flush=True))
    last = figures["history"][-1] if figures["history"] else {}
    emit(EvalReport(f"unified embedding -> {out} ({figures['samples']} samples, {figures['views']} views, "
                    f"{figures['held out']} held out)",
                    {**{f"{t} classes": n for t, n in figures["classes"].items()},
                     **{f"skipped ({why})": n for why, n in figures["skipped"].items() if n}, **last}))
    return 0


def cmd_train_compat(args, config) -> int:
    if args.epochs < 1:
        raise ValueError(f"--epochs {args.epochs}: must be at least 1")
    out = args.out or config.models.compat or str(COMPAT_CHECKPOINT)
    job = CompatJob(args.manifest, args.val, out, TrainSettings(epochs=args.epochs, head_lr=COMPAT_LR, seed=args.seed))
    figures = train_compat(job, ModelStore.from_config(config.models).resolve("mobilenet_v2"), args.resume,
                           progress=True, on_epoch=lambda row: print(", ".join(f"{k} {v}" for k, v in row.items()),
                                                                    file=sys.stderr, flush=True))
    emit(EvalReport(f"Complete The Look -> {out} ({figures['training questions']} training questions, "
                    f"{figures['held-out questions']} held out)", figures))
    return 0


def cmd_demo(args, config) -> int:
    return run_demo(config, lambda line: print(line, flush=True), serve=not args.no_serve,
                    catalog=args.catalog, src=args.path)
