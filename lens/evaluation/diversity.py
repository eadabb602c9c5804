"""``lens eval diversity``: representation and precision with diversity off and on, and a theta sweep.

Queries: product photos of the categories people wear in the synthetic scenes
(tops, dresses, trousers, skirts, shoes, hats, bags, sunglasses), at most
``--queries``, through the whole façade (``k`` = 10).  Per query and setting:

* representation@10 per dimension: the number of distinct ranges among the
  top 10 results that carry the signal (skin tone, body type);
* whether at least 3 skin tone ranges are in the top 10;
* the candidate pool's skin tone ranges (diversity on: what the page could
  show), for the goal "representation@10 >= 3 whenever the pool holds >= 3";
* precision@10 against the ground truth: a result is relevant when it is a
  product of the query's category or a scene whose objects include one.

Reported per setting (never only in aggregate: also per dimension), with the
relative precision drop; ``--sweep PNG`` plots representation and precision
over theta.  Tested in ``tests/test_e2e.py``.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from lens.console import progress as progress_bar
from lens.evaluation.common import EvalReport, eval_catalog, read_manifest
from lens.evaluation.indexed import build_eval_lens

log = logging.getLogger(__name__)
WORN = ("top", "dress", "trousers", "skirt", "shoe", "hat", "bag", "sunglasses")
THETAS = (0.0, 0.3, 0.6, 0.75, 0.9)
GOAL_RANGES, GOAL_DROP = 3, 0.05


def _categories(records: list[dict]) -> dict[str, set]:
    out = {}
    for r in records:
        cats = {r.get("category")} | {o.get("category") for o in r.get("objects", [])}
        out[r["id"]] = {c for c in cats if c}
    return out


def _query_set(records: list[dict], n: int, seed: int) -> list[dict]:
    products = [r for r in records if r.get("kind") == "product" and r.get("category") in WORN]
    rng = np.random.default_rng(seed)
    return [products[i] for i in rng.permutation(len(products))[:n]]


def _ranges(result: dict, key: str) -> set:
    return set((result.get("understanding") or {}).get("signals", {}).get(key, []))


def run_setting(lens, folder: Path, queries: list[dict], cats: dict, diversity: bool,
                progress: bool = True) -> dict:
    """Figures of one setting over ``queries`` (see the module docstring)."""
    rows = []
    items = {}
    for rec in progress_bar(queries, desc=f"diversity {'on' if diversity else 'off'}", disable=not progress):
        result = lens(str(folder / rec["image"]), k=10, diversity=diversity)
        stored = lens.catalog.items([r["id"] for r in result.results])
        items.update({r["id"]: s for r, s in zip(result.results, stored) if s})
        skin = [_ranges(s or {}, "skin_tone_ranges") for s in stored]
        body = [_ranges(s or {}, "body_type_ranges") for s in stored]
        rows.append({"skin": len(set().union(*skin)) if skin else 0,
                     "body": len(set().union(*body)) if body else 0,
                     "pool": len(result.blend.get("pool_skin_tone_ranges", [])),
                     "precision": np.mean([rec["category"] in cats.get(r["id"], set())
                                           for r in result.results]) if result.results else 0.0})
    return summarize(rows, diversity)


def summarize(rows: list[dict], diversity: bool) -> dict:
    skin = np.array([r["skin"] for r in rows])
    wide = [r for r in rows if r["pool"] >= GOAL_RANGES]
    out = {"queries": len(rows),
           "skin tone representation@10 (mean)": round(float(skin.mean()), 3) if len(rows) else 0.0,
           "body type representation@10 (mean)": round(float(np.mean([r["body"] for r in rows])), 3)
           if rows else 0.0,
           "share with >= 3 skin tone ranges in the top 10": round(float((skin >= 3).mean()), 3)
           if len(rows) else 0.0,
           "precision@10": round(float(np.mean([r["precision"] for r in rows])), 4) if rows else 0.0}
    if diversity:
        out["queries whose pool holds >= 3 ranges"] = len(wide)
        out["... of them with >= 3 ranges in the top 10"] = round(
            float(np.mean([r["skin"] >= GOAL_RANGES for r in wide])), 3) if wide else None
    return out


def sweep(lens, folder: Path, queries: list[dict], cats: dict, png: str | None,
          progress: bool = True) -> list[dict]:
    """Representation and precision over ``THETAS`` (diversity on); plotted to ``png``."""
    surface, points = lens.config.blend.lens, []
    original = surface.theta
    try:
        for theta in THETAS:
            surface.theta = theta
            fig = run_setting(lens, folder, queries, cats, True, progress)
            points.append({"theta": theta, "representation": fig["skin tone representation@10 (mean)"],
                           "precision": fig["precision@10"]})
    finally:
        surface.theta = original
    if png:
        _plot(points, png)
    return points


def _plot(points: list[dict], png: str) -> None:
    import matplotlib  # deferred: 0.5 s and a font cache, for --sweep's plot only

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after use("Agg"): no display needed

    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
    thetas = [p["theta"] for p in points]
    ax.plot(thetas, [p["representation"] for p in points], "o-", label="skin tone ranges in top 10")
    ax.set_xlabel("theta (0 = relevance order)")
    ax.set_ylabel("ranges (mean)")
    ax2 = ax.twinx()
    ax2.plot(thetas, [p["precision"] for p in points], "s--", color="tab:red", label="precision@10")
    ax2.set_ylabel("precision@10")
    fig.legend(loc="lower center", ncol=2, fontsize=7)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(png)
    plt.close(fig)


def diversity_eval(lens, folder: Path, records: list[dict], args, progress: bool = True) -> dict:
    """Both settings, the goal check and (with ``--sweep``) the theta sweep."""
    cats = _categories(records)
    queries = _query_set(records, args.queries, args.seed)
    if not queries:
        raise ValueError("diversity evaluation: the catalog holds no products of worn categories")
    off = run_setting(lens, folder, queries, cats, False, progress)
    on = run_setting(lens, folder, queries, cats, True, progress)
    drop = (off["precision@10"] - on["precision@10"]) / off["precision@10"] if off["precision@10"] else 0.0
    figures = {**{f"off: {k}": v for k, v in off.items()}, **{f"on: {k}": v for k, v in on.items()},
               "precision@10 relative drop": round(drop, 4),
               "goal (>= 3 ranges when the pool has 3; drop <= 5 %)":
                   "met" if (on["... of them with >= 3 ranges in the top 10"] in (None, 1.0)
                             and drop <= GOAL_DROP) else "NOT met"}
    if getattr(args, "sweep", None):
        figures["theta sweep"] = sweep(lens, folder, queries, cats, args.sweep, progress)
    return figures


def diversity_command(args, config) -> EvalReport:
    """``lens eval diversity``."""
    folder = eval_catalog(args)
    lens = build_eval_lens(config, folder)
    return EvalReport(f"diversity on {folder}", diversity_eval(lens, folder, read_manifest(folder), args))
