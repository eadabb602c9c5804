"""``make bench``'s ``inclusion`` section: skin tone and body type on real photos (issue 20.7).

With ``configs/default.yaml`` on the data root (``REAL_DATA``), our validation splits:

* ``skin tone``: ``lens eval skin-tone --real``: CCP validation people (coverage, faces found,
  the range unchanged under JPEG / half size / exposure per range, the measured face pixels
  against CCP's ``skin`` label per range) and false skin tones on people-free photos;
* ``body type``: ``lens eval body-type --real``: CCP validation bodies against their true
  silhouettes (agreement and abstention per range) and false body types on people-free photos;
* ``synthetic``: the same report's synthetic counterparts (``body type`` and ``skin tone vs
  stone`` sections), side by side, when they were measured.

Skipped with a one-line note when the data root is absent.
"""
from __future__ import annotations

import time
from pathlib import Path

from lens.config import load_config
from lens.evaluation.real_body_type import real_body_type_eval
from lens.evaluation.real_skin_tone import real_skin_tone_eval
from lens.pipeline.bundle import ModelBundle

SYNTHETIC = {"body type": ("abstain, full body", "false body types, product photos",
                           "false body types, scenes without people", "recall gap (best - worst range)"),
             "skin tone vs stone": ()}


def _synthetic(sections: dict) -> dict:
    """The synthetic figures the README sets beside the real ones (those present in ``sections``)."""
    out = {f"synthetic {k}": v for k in SYNTHETIC["body type"]
           if (v := (sections.get("body type") or {}).get(k)) is not None}
    stone = sections.get("skin tone vs stone") or {}
    out.update({f"synthetic re-toned {k}": v for k, v in stone.items() if k.startswith("lens") and "recall" in k})
    return out


def bench_inclusion(root: Path, sections: dict | None = None) -> dict:
    """The section's figures, or a note saying why it was skipped."""
    if not any((root / name).is_dir() for name in ("ccp", "grocery", "clothing")):
        return {"skipped": f"no ccp, grocery or clothing under {root} (set LENS_REAL_DATA to the data root)"}
    models = ModelBundle(load_config("default"))
    out: dict = {"data root": str(root)}
    for name, run in (("skin tone", real_skin_tone_eval), ("body type", real_body_type_eval)):
        start = time.perf_counter()
        figures = run(models.config, root, progress=False, models=models)
        out.update({f"{name}: {k}": v for k, v in figures.items()})
        out[f"{name}: seconds"] = round(time.perf_counter() - start, 1)
    return {**out, **_synthetic(sections or {})}
