"""``lens eval colors``: colour naming and accuracy under the recorded lighting changes.

Every product of a synthetic catalog is re-rendered (small view change) under
each lighting condition (none, dim, bright, warm, cool) at a strength drawn
like the generator's recorded perturbations (uniform 0.2-1.0), and its
dominant salient colour is compared with the ground truth: the name must
match, and CIEDE2000 to the true palette colour must be at most 10.  Figures
are reported per condition and over all conditions, never only overall.
"""
from __future__ import annotations

import numpy as np
from skimage.color import deltaE_ciede2000

from lens.console import progress as progress_bar
from lens.evaluation.common import EvalReport, eval_catalog, read_manifest
from lens.palette import hex_to_rgb
from lens.pixels import rgb2lab
from lens.synth import render_product_view
from lens.understanding.colors import salient_colors

CONDITIONS = ("none", "dim", "bright", "warm", "cool")
MAX_DELTA_E = 10.0


def _true_lab(hex_color: str) -> np.ndarray:
    return rgb2lab(np.array([[hex_to_rgb(hex_color)]], np.uint8))[0, 0].astype(np.float64)


def color_figures(records: list[dict], seed: int = 0, progress: bool = True) -> dict:
    """Per-condition and overall name accuracy and share within CIEDE2000 10."""
    products = [r for r in records if r.get("kind", "product") == "product" and "render" in r]
    if not products:
        raise ValueError("colour evaluation: the catalog holds no rendered products")
    rng = np.random.default_rng([seed, 31])
    figures: dict = {}
    hits_all, close_all = [], []
    for condition in CONDITIONS:
        hits, close = [], []
        for i, rec in enumerate(progress_bar(products, desc=f"colours/{condition}", disable=not progress)):
            strength = 0.0 if condition == "none" else float(rng.uniform(0.2, 1.0))
            pert = {"lighting": condition, "lighting_strength": strength}
            colors = salient_colors(render_product_view(rec, pert, view_seed=seed * 7919 + i + 1))
            top = colors[0] if colors else None
            hits.append(top is not None and top.name == rec["color"])
            close.append(top is not None and float(deltaE_ciede2000(
                np.asarray(top.lab, np.float64), _true_lab(rec["color_hex"]))) <= MAX_DELTA_E)
        figures[f"{condition} name"] = round(float(np.mean(hits)), 4)
        figures[f"{condition} dE<=10"] = round(float(np.mean(close)), 4)
        hits_all += hits
        close_all += close
    figures["all name"] = round(float(np.mean(hits_all)), 4)
    figures["all dE<=10"] = round(float(np.mean(close_all)), 4)
    figures["products"] = len(products)
    return figures


def colors_command(args, config) -> EvalReport:
    """``lens eval colors``."""
    folder = eval_catalog(args)
    return EvalReport(f"colors on {folder}", color_figures(read_manifest(folder), args.seed))
