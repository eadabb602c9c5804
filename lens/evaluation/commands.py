"""``lens eval retrieval|colors|skin-tone|body-type|text|diversity|labels|detection|embedding|floor|complete``: parsers and the handler.

:func:`add_parsers` registers ``eval`` and returns ``{"eval": cmd_eval}``
(like every package's ``commands`` module); each evaluation's own module loads
only when it runs.  Every evaluation prints an
:class:`~lens.evaluation.common.EvalReport` and, with ``--json OUT``, writes
its figures (:func:`emit`).

Tested in ``tests/test_e2e.py``, ``tests/test_text.py``, ``tests/test_labeling.py``.
"""
from __future__ import annotations

import argparse
import importlib

from lens.evaluation.common import EvalReport, add_eval_arguments


def emit(report: EvalReport, json_out: str | None = None) -> None:
    """Print ``report`` (the command's output) and, with ``--json``, write its figures."""
    print("\n".join(report.lines()))
    if json_out:
        report.write_json(json_out)


def add_text_arguments(parser: argparse.ArgumentParser) -> None:
    """``lens eval text``'s options."""
    add_eval_arguments(parser)
    parser.add_argument("--documents", choices=["catalog", "manifest"], default="catalog",
                        help="index the image-built catalog (default) or the manifest's text alone")
    parser.add_argument("--queries-per-type", type=int, default=150,
                        help="at most this many queries per type (seeded sample; default 150)")


def add_retrieval_arguments(parser: argparse.ArgumentParser) -> None:
    """``lens eval retrieval``'s options: the synthetic ones, or a real catalog and its query photos."""
    add_eval_arguments(parser)
    parser.add_argument("--manifest", help="real photos: the catalog manifest (e.g. `lens data grocery`'s "
                                           "catalog.jsonl); needs --queries")
    parser.add_argument("--queries", help="real photos: a manifest of query photos, each naming its 'product'")
    parser.add_argument("--also-index", action="append", default=[], metavar="MANIFEST",
                        help="more photos for the catalog, each counting as its 'product' (repeatable)")
    parser.add_argument("--workdir", help="where the real catalog is indexed (default: data/eval/real-...)")
    parser.add_argument("--by", default="department", help="catalog field the figures are also split by")
    parser.add_argument("--limit", type=int, default=0, help="at most N queries, spread evenly (default all)")
    parser.add_argument("--foreign", metavar="PHOTOS", help="real photos: a manifest of photos of nothing in the "
                        "catalog; reports the share with no result above the relevance floor")


def add_labels_arguments(parser: argparse.ArgumentParser) -> None:
    """``lens eval labels``'s options."""
    add_eval_arguments(parser, scenes=300)
    parser.add_argument("--labels", help="a label-crops output folder (default: label the catalog's scenes now)")
    parser.add_argument("--min-confidence", type=float, help="default: labeling.min_confidence")
    parser.add_argument("--train", action="store_true", help="also train detectors on true and on weak boxes "
                                                             "and compare mAP@0.5 on the val scenes (minutes)")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs for --train (default 10)")
    parser.add_argument("--truth", metavar="MANIFEST", help="real photos: a manifest whose rows carry "
                        "'objects' (category, box), e.g. lens data ccp's masked-val.jsonl; needs --labels")
    parser.add_argument("--compare", metavar="WEAK.pt", help="with --truth: mAP@0.5 of this weak-label "
                        "checkpoint next to models.detector_checkpoint on --val")
    parser.add_argument("--val", metavar="COCO", help="the held-out COCO file for --compare")
    parser.add_argument("--images", help="the folder --val's file_names are relative to")


def add_real_arguments(parser: argparse.ArgumentParser) -> None:
    """``--real DATA`` and ``--limit`` of the inclusive signals' real-photo figures."""
    parser.add_argument("--real", metavar="DATA", help="figures on real photos instead: a folder holding "
                        "ccp/, grocery/ and clothing/ as published (absent parts skipped)")
    parser.add_argument("--limit", type=int, default=0, help="with --real: at most N photos per set, spread "
                        "evenly (default all)")


def add_parsers(sub) -> dict:
    """Register ``eval`` and its evaluations on ``sub`` (argparse sub-parsers)."""
    e = sub.add_parser("eval", help="evaluate against the synthetic ground truth")
    esub = e.add_subparsers(dest="evaluation", required=True)
    add_retrieval_arguments(esub.add_parser("retrieval", help="top-1, scene-crop recall@10, object recall@20; "
                                                              "with --queries: real photos -> their product"))
    add_eval_arguments(esub.add_parser("colors", help="dominant colour under each lighting condition"))
    sk = esub.add_parser("skin-tone", help="per-range skin tone figures (re-toned photos, synthetic people; "
                                           "--real: real photos)")
    add_eval_arguments(sk, scenes=600)   # ~50-75 faces a range
    add_real_arguments(sk)
    bt = esub.add_parser("body-type", help="per-range body type figures (synthetic people; --real: CCP bodies "
                                           "against their true silhouettes, people-free photos)")
    add_eval_arguments(bt, scenes=600)   # ~30 full-body people a range
    add_real_arguments(bt)
    dv = esub.add_parser("diversity", help="representation@10 and precision@10, diversity off and on")
    add_eval_arguments(dv)
    dv.add_argument("--queries", type=int, default=40, help="product photos to query (default 40)")
    dv.add_argument("--sweep", metavar="PNG", help="also sweep theta and plot it here")
    add_text_arguments(esub.add_parser("text", help="attribute text queries (\"red striped dress\"): "
                                                     "precision per query type"))
    add_labels_arguments(esub.add_parser("labels", help="weak-label agreement, coverage "
                                                        "(and with --train the two mAPs)"))
    em = esub.add_parser("embedding", help="real photos: embedders side by side (top-1 / top-5 of the product "
                                           "among the catalog photos, float and binary)")
    em.add_argument("--manifest", required=True, help="the catalog manifest (e.g. `lens data grocery`'s catalog.jsonl)")
    em.add_argument("--queries", required=True, help="a manifest of photos, each naming its 'product'")
    em.add_argument("--embedders", default="mobilenet_v2,efficientnet_lite0,unified",
                    help="comma-separated (default: mobilenet_v2,efficientnet_lite0,unified; unified needs "
                         "`lens train-embedding`)")
    em.add_argument("--limit", type=int, default=0, help="at most N queries, spread evenly (default all)")
    em.add_argument("--json", dest="json_out", help="also write the figures as JSON here")
    fl = esub.add_parser("floor", help="real photos: fit the relevance floor (blend.background_weight, "
                                       "blend.min_relevance) on photos of the products and photos of nothing in it")
    fl.add_argument("--manifest", required=True, help="the catalog manifest (e.g. `lens data grocery`'s catalog.jsonl)")
    fl.add_argument("--queries", required=True, help="photos of the catalog's products, each naming its 'product' "
                                                     "(not the photos you measure on)")
    fl.add_argument("--foreign", required=True, action="append", metavar="PHOTOS",
                    help="a manifest of photos of nothing in the catalog (repeatable)")
    fl.add_argument("--also-index", action="append", default=[], metavar="MANIFEST",
                    help="more photos for the catalog, each counting as its 'product' (repeatable)")
    fl.add_argument("--keep", type=float, help="share of pages led by the right product whose first item "
                                               "stays above the floor (default 0.99: lens/evaluation/floor_fit.py)")
    fl.add_argument("--workdir", help="where the catalog is indexed (default: data/eval/real-...)")
    fl.add_argument("--limit", type=int, default=0, help="at most N photos of each kind, spread evenly (default all)")
    fl.add_argument("--json", dest="json_out", help="also write the figures as JSON here")
    dt = esub.add_parser("detection", help="real photos: objects found by the crops, AP of the Faster R-CNN")
    dt.add_argument("--coco", required=True, help="a COCO file of true boxes (e.g. `lens data ccp`'s val.json)")
    dt.add_argument("--images", required=True, help="folder its file_names are relative to")
    dt.add_argument("--classes", help="classes averaged as the mean (comma-separated; default: all with boxes)")
    dt.add_argument("--limit", type=int, default=0, help="the first N photos only (default: all)")
    dt.add_argument("--json", dest="json_out", help="also write the figures as JSON here")
    cp = esub.add_parser("complete", help="Complete The Look: fill in the blank and AUC on boxed scenes, "
                                          "against a visual-similarity baseline")
    cp.add_argument("--manifest", required=True, help="boxed scenes not trained on (e.g. `lens data ccp`'s masked-val.jsonl)")
    cp.add_argument("--checkpoint", help="a `lens train-compat` checkpoint (default: models.compat, else the "
                                         "committed one; 'none': the baselines alone)")
    cp.add_argument("--json", dest="json_out", help="also write the figures as JSON here")
    return {"eval": cmd_eval}


# evaluation -> "module:function" taking (args, config) and returning an EvalReport; a module loads
# only when its evaluation runs (each imports torch, mediapipe or FAISS: `lens --help` must not)
EVALUATIONS = {"retrieval": "lens.evaluation.retrieval:retrieval_command",
               "colors": "lens.evaluation.colors:colors_command",
               "skin-tone": "lens.evaluation.skin_tone:skin_tone_command",
               "body-type": "lens.evaluation.body_type:body_type_eval",
               "text": "lens.evaluation.text:text_eval",
               "diversity": "lens.evaluation.diversity:diversity_command",
               "labels": "lens.evaluation.real_labels:labels_command",
               "detection": "lens.evaluation.detection:detection_command",
               "embedding": "lens.evaluation.embeddings:embedding_command",
               "floor": "lens.evaluation.floor_fit:floor_fit_command",
               "complete": "lens.evaluation.complete:complete_command"}


def cmd_eval(args, config) -> int:
    module, _, function = EVALUATIONS[args.evaluation].partition(":")
    run = getattr(importlib.import_module(module), function)
    emit(run(args, config), args.json_out)
    return 0
