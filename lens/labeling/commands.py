"""Labelling commands for the ``lens`` CLI: ``label-crops`` and ``eval labels``.

:func:`add_parsers` adds ``label-crops`` and returns ``{name: handler}`` (like
:mod:`detection.commands`); :func:`add_eval_parser` adds ``labels`` under
``lens eval`` and :func:`cmd_eval_labels` runs it.  Handlers take
``(args, config)`` and return an exit code; heavy modules load inside them.
Tested in ``tests/test_labeling.py``.
"""
from __future__ import annotations

import sys


def _engine_arguments(p) -> None:
    p.add_argument("--ray-address", metavar="auto|ADDR|local",
                   help="run the mapper on Ray Data: auto (a running cluster), HOST:PORT, or local "
                        "(a private 2-CPU cluster on loopback); default: in-process")
    p.add_argument("--workers", type=int, default=2, help="Ray actors (each loads the models once; default 2)")


def add_parsers(sub) -> dict:
    """Register ``label-crops`` on ``sub`` (argparse sub-parsers)."""
    p = sub.add_parser("label-crops", help="weak labels for detected crops from catalog look-alikes (+ COCO)")
    p.add_argument("source", nargs="?", help="a manifest or image folder (default: the catalog's indexed scenes)")
    p.add_argument("--out", required=True, help="output folder (labels/*.jsonl, coco.json, report.json); "
                                                "re-running resumes")
    p.add_argument("--catalog", help="catalog folder the labels come from (default: catalog.path)")
    p.add_argument("--min-confidence", type=float, help="COCO keeps crops at or above this "
                                                        "(default: labeling.min_confidence)")
    p.add_argument("--user-crops", metavar="LOG", help="a user-crop log (labeling.user_crops_path) whose boxes "
                                                       "are labelled too")
    p.add_argument("--images-root", help="folder COCO file_names are relative to (default: the images' "
                                         "common folder)")
    p.add_argument("--from-index", action="store_true", help="reuse the crops `lens index` stored for "
                                                             "catalog scenes instead of detecting again")
    _engine_arguments(p)
    return {"label-crops": cmd_label_crops}


def add_eval_parser(esub) -> None:
    """Register ``lens eval labels`` on the ``eval`` sub-parsers."""
    from lens.evaluation import add_eval_arguments

    e = esub.add_parser("labels", help="weak-label agreement, coverage (and with --train the two mAPs)")
    add_eval_arguments(e, scenes=300)
    e.add_argument("--labels", help="a label-crops output folder (default: label the catalog's scenes now)")
    e.add_argument("--min-confidence", type=float, help="default: labeling.min_confidence")
    e.add_argument("--train", action="store_true", help="also train detectors on true and on weak boxes "
                                                        "and compare mAP@0.5 on the val scenes (minutes)")
    e.add_argument("--epochs", type=int, default=10, help="training epochs for --train (default 10)")


def cmd_label_crops(args, config) -> int:
    from lens.labeling.job import label_crops

    report = label_crops(config, args.out, args.source, args.catalog, args.user_crops, args.min_confidence,
                         "ray" if args.ray_address else "local", args.ray_address or "local", args.workers,
                         args.images_root, from_index=args.from_index)
    for f in report.failures:
        print(f"lens: skipped {f['file']}: {f['error']}", file=sys.stderr)
    print(f"labelled {report.crops} crops of {report.images} images ({report.confident} confident) in "
          f"{report.shards} shards ({report.skipped_shards} already done), {len(report.failures)} unreadable; "
          f"wrote {report.coco}: {report.boxes} boxes ({report.duplicates} duplicates left out)")
    return 1 if report.failures else 0


def cmd_eval_labels(args, config) -> int:
    from pathlib import Path

    from lens.cli import emit
    from lens.evaluation import EvalReport, eval_catalog
    from lens.labeling.evaluate import agreement_figures, coco_figures, detector_maps
    from lens.labeling.job import label_crops
    from lens.labeling.writer import read_rows
    from lens.synth.coco import read_scenes

    folder = eval_catalog(args)
    threshold = config.labeling.min_confidence if args.min_confidence is None else args.min_confidence
    out = Path(args.labels or folder / "labels")
    if not args.labels:
        from lens.evaluation import build_eval_lens

        build_eval_lens(config, folder)          # index once (products are the label source)
        label_crops(config, out, catalog_dir=str(folder / "catalog"), min_confidence=threshold,
                    images_root=str(folder), from_index=True)
    rows, scenes = list(read_rows(out)), read_scenes(folder)
    figures = {**agreement_figures(rows, scenes, threshold), **coco_figures(rows, scenes, threshold)}
    if args.train:
        from lens.models import ModelStore

        coco = Path(out) / "coco.json"
        figures.update(detector_maps(folder, coco, out / "train", args.epochs, ModelStore.from_config(config.models)))
    emit(EvalReport(f"labels on {folder} (min confidence {threshold})", figures), args.json_out)
    return 0
