"""Deterministic synthetic catalog with ground truth (products, scenes, people).

Public API:

* :func:`generate_catalog` -- write ``products/``, ``scenes/``,
  ``manifest.jsonl`` and ``catalog.json`` into a folder;
  :func:`generator_version` reads a folder's version back (``VERSION`` is the
  current one: evaluations rebuild cached catalogs made by another).
* :func:`render_product_view` -- re-render a product from its manifest record
  with a small view jitter and a perturbation (query photos for evaluation).
* :func:`apply_perturbation`, :func:`random_perturbation` -- the recorded
  photo perturbations (see :mod:`lens.synth.perturb` for the formulas).
* ``CATEGORIES`` (dicts with name, domain, coarse), ``PATTERNS``, ``LIGHTING``.
"""
from __future__ import annotations

import numpy as np

from lens.synth.generate import VERSION, generate_catalog, generator_version
from lens.synth.perturb import LIGHTING, apply_perturbation, random_perturbation
from lens.synth.render import product_photo
from lens.synth.spec import CATEGORIES, PATTERNS

__all__ = [
    "CATEGORIES",
    "LIGHTING",
    "PATTERNS",
    "apply_perturbation",
    "VERSION",
    "generate_catalog",
    "generator_version",
    "random_perturbation",
    "render_product_view",
    "view_jitter",
]


def view_jitter(view_seed: int) -> dict:
    """A small view change: scale +-3 %, rotation +-3 degrees, shift +-3 % of the photo."""
    rng = np.random.default_rng([int(view_seed), 7717])
    return {"dscale": float(rng.uniform(-0.03, 0.03)), "dangle": float(rng.uniform(-3, 3)),
            "ddx": float(rng.uniform(-0.03, 0.03)), "ddy": float(rng.uniform(-0.03, 0.03))}


def render_product_view(record: dict, perturbation: dict | None, view_seed: int) -> np.ndarray:
    """Re-render a product from its manifest record: S x S x 3 uint8 RGB (S = 256).

    The pose gets :func:`view_jitter` (``view_seed``); ``perturbation`` (a
    perturbation dict, or None for none) is applied with noise seeded by
    ``view_seed``, including its JPEG round trip.
    """
    if not isinstance(record, dict) or "render" not in record:
        raise ValueError("render_product_view needs a product manifest record with a 'render' field")
    photo = product_photo(record["render"], jitter=view_jitter(view_seed))
    if perturbation:
        photo = apply_perturbation(photo, perturbation, [int(view_seed), 31337])
    return photo
