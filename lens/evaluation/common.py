"""The one convention every ``lens eval ...`` command follows.

Each evaluation takes ``--catalog DIR`` (a synthetic catalog folder holding
``manifest.jsonl``) or builds one with ``--products N --scenes M --seed S``
(cached under ``data/eval/``; rebuilt when made by another generator
version), prints a table of named figures (``top-1  0.97``) and, with
``--json OUT``, writes the same figures as JSON (:func:`emit`).

Tested in ``tests/test_e2e.py`` and by every evaluation's tests.
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lens.synth import VERSION, generate_catalog, generator_version

log = logging.getLogger(__name__)


def add_eval_arguments(parser: argparse.ArgumentParser, scenes: int = 60) -> None:
    """The shared eval options; ``scenes``: the default number of synthetic scenes."""
    parser.add_argument("--catalog", help="a synthetic catalog folder (holding manifest.jsonl)")
    parser.add_argument("--products", type=int, default=200, help="products to generate (default 200)")
    parser.add_argument("--scenes", type=int, default=scenes, help=f"scenes to generate (default {scenes})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", dest="json_out", help="also write the figures as JSON here")


def eval_catalog(args: argparse.Namespace, progress: bool = True) -> Path:
    """The catalog folder to evaluate: ``--catalog`` or a cached synthetic one."""
    if args.catalog:
        folder = Path(args.catalog)
        if not (folder / "manifest.jsonl").is_file():
            raise ValueError(f"--catalog {folder}: no manifest.jsonl in this folder")
        return folder
    folder = Path("data/eval") / f"synth-p{args.products}-s{args.scenes}-seed{args.seed}"
    made = generator_version(folder)
    if (folder / "manifest.jsonl").is_file() and made != VERSION:
        # a cache of ours made by another generator: its ground truth differs, so rebuild it
        log.warning("%s was made by generator %s (now %s): rebuilding it", folder, made, VERSION)
        shutil.rmtree(folder)
    if not (folder / "manifest.jsonl").is_file():
        generate_catalog(folder, args.products, args.scenes, args.seed, progress=progress)
    return folder


def read_manifest(folder: Path) -> list[dict]:
    with (folder / "manifest.jsonl").open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


@dataclass
class EvalReport:
    """What an evaluation returns.  ``lens eval`` prints :meth:`lines` (``rows``, default the
    figures, one ``name  value`` line each) and ``--json`` writes ``figures``."""

    title: str
    figures: dict
    rows: dict | None = None

    def lines(self) -> list[str]:
        rows = self.figures if self.rows is None else self.rows
        width = max((len(k) for k in rows), default=0)
        return [self.title] + [f"  {name.ljust(width)}  {value:.4f}" if isinstance(value, float)
                               else f"  {name.ljust(width)}  {value}" for name, value in rows.items()]

    def write_json(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.figures, indent=2, sort_keys=True))


def spread(rows: list, limit: int) -> list:
    """At most ``limit`` of ``rows`` (0: all), spread evenly over them (every part of a sorted
    set keeps some: products, folders, photo numbers)."""
    if not limit or len(rows) <= limit:
        return rows
    return [rows[i] for i in np.linspace(0, len(rows) - 1, limit).round().astype(int)]
