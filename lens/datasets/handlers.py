"""The ``lens data`` handler (:mod:`lens.datasets.commands` holds the parser).

Tested in ``tests/test_datasets.py``.
"""
from __future__ import annotations

import json
import sys

from lens.console import progress
from lens.datasets import ccp, clothing, grocery


def cmd_data(args, config) -> int:
    """Convert one dataset; prints the report as JSON, one line per skip reason on stderr."""
    if args.dataset == "ccp":
        report = ccp.convert(args.src, args.out, args.fold, args.folds, progress=progress)
    else:
        report = {"grocery": grocery, "clothing": clothing}[args.dataset].convert(
            args.src, args.out, progress=progress)
    skipped = report["skipped"]
    for reason, count in skipped["by_reason"].items():
        print(f"lens: data {args.dataset}: skipped {count}: {reason} "
              f"(e.g. {skipped['examples'][reason][0]})", file=sys.stderr)
    print(json.dumps({k: v for k, v in report.items() if k != "skipped"} | {"skipped": skipped["total"]},
                     indent=1))
    return 0
