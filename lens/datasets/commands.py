"""``lens data ccp|grocery|clothing SRC OUT``: the real-photo datasets converted into Lens's formats.

:func:`add_parsers` registers ``data`` and returns ``{"data": "lens.datasets.handlers:cmd_data"}``
(the converters load SciPy and OpenCV; ``lens --help`` must not).  Tested in ``tests/test_datasets.py``.
"""
from __future__ import annotations

DATASETS = ("ccp", "grocery", "clothing")


def add_parsers(sub) -> dict:
    """Register ``data`` on ``sub`` (argparse sub-parsers)."""
    p = sub.add_parser("data", help="convert a real-photo dataset (CCP, Grocery Store, clothing) into "
                                    "COCO boxes and manifests")
    p.add_argument("dataset", choices=DATASETS)
    p.add_argument("src", help="the dataset's folder (as downloaded from its public repository)")
    p.add_argument("out", help="output folder (manifests, COCO files, report.json); re-running replaces them")
    p.add_argument("--fold", type=int, default=0,
                   help="ccp: photos whose number %% folds == fold are the validation split (default 0)")
    p.add_argument("--folds", type=int, default=5, help="ccp: number of folds (default 5: a fifth held out)")
    return {"data": "lens.datasets.handlers:cmd_data"}
