"""Labelling commands for the ``lens`` CLI: ``label-crops``.

:func:`add_parsers` adds ``label-crops`` and returns ``{name: handler}`` (like
:mod:`detection.commands`; ``lens eval labels`` is in :mod:`lens.evaluation.commands`).
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


def cmd_label_crops(args, config) -> int:
    from lens.labeling.job import label_crops  # deferred: the job loads torch and FAISS; the parser must not

    report = label_crops(config, args.out, args.source, args.catalog, args.user_crops, args.min_confidence,
                         "ray" if args.ray_address else "local", args.ray_address or "local", args.workers,
                         args.images_root, from_index=args.from_index)
    for f in report.failures:
        print(f"lens: skipped {f['file']}: {f['error']}", file=sys.stderr)
    print(f"labelled {report.crops} crops of {report.images} images ({report.confident} confident) in "
          f"{report.shards} shards ({report.skipped_shards} already done), {len(report.failures)} unreadable; "
          f"wrote {report.coco}: {report.boxes} boxes ({report.duplicates} duplicates left out)")
    return 1 if report.failures else 0
