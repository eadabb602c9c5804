"""``make bench`` section: our skin tone estimator vs PyPI ``skin-tone-classifier`` (``stone``).

Both run on the same re-toned photos (:func:`lens.evaluation.skin_tone.build_retoned_set`:
2 packaged face photos x 4 views x 10 Monk Skin Tones x 9 lighting conditions).
``stone`` (GPL-3.0) is a benchmark dependency only, called through its public
``stone.process(path, image_type="color", tone_palette=MST hex list)`` on PNG
copies in a temporary folder; its chosen palette colour maps back to the MST
index, so both report the same 4 ranges (:func:`lens.palette.mst_range`).
``stone`` classifies the whole image when its OpenCV cascade finds no face
(``face_id`` "NA"): that answer is counted as given, and how often it found a
face is reported next to our face-detection recall.  When ``stone`` is not
installed (``pip install skin-tone-classifier``) or fails, its entry holds the
error instead.  Per range: recall (misses and abstentions count against it);
timing: median and p95 ms per image on this machine, in one run.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _ms(values: list[float]) -> dict:
    arr = np.asarray(values or [0.0], dtype=np.float64)
    return {"median_ms": round(float(np.median(arr)), 2), "p95_ms": round(float(np.percentile(arr, 95)), 2)}


def _summary(figures: dict, times: dict) -> dict:
    return {"range recall": {r: v["recall"] for r, v in figures["ranges"].items()},
            "range precision": {r: v["precision"] for r, v in figures["ranges"].items()},
            "face found": {r: v["face_detection_recall"] for r, v in figures["ranges"].items()},
            "abstain rate": figures["abstain_rate"], "meets goal": figures["goal"]["meets_goal"],
            "ms per image": times}


def _ours(samples) -> dict:
    from lens.evaluation.skin_tone import skin_tone_figures
    from lens.understanding.skin import SkinToneEstimator

    estimator = SkinToneEstimator()
    estimator(samples[0][0])                       # warm-up: creates the mediapipe graphs
    figures = skin_tone_figures(estimator, samples)
    times = figures["ms_per_image"]
    return _summary(figures, {"median_ms": times["median"], "p95_ms": times["p95"]})


def _stone(samples) -> dict:
    os.environ.setdefault("STONE_UPGRADE_FLAG", "1")      # no version check over the network
    try:
        import cv2
        import stone
        from importlib.metadata import version

        from lens.evaluation.skin_tone import figures_from_pairs
        from lens.palette import MST_HEX
        labels = [str(m) for m in range(1, 11)]
        rows, times = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for i, (rgb, mst, _) in enumerate(samples):
                path = Path(tmp) / f"{i:04d}.png"
                cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
                start = time.perf_counter()
                result = stone.process(str(path), image_type="color", tone_palette=list(MST_HEX),
                                       tone_labels=labels)
                times.append((time.perf_counter() - start) * 1000)
                faces = result.get("faces") or []
                found = [f for f in faces if f.get("face_id") != "NA"]
                best = max(found or faces, key=lambda f: float(f.get("accuracy", 0)), default=None)
                pred = int(best["tone_label"]) if best and best.get("tone_label") in labels else None
                rows.append((mst, pred, bool(found), "" if pred else "no result"))
        return {"version": version("skin-tone-classifier"), **_summary(figures_from_pairs(rows), _ms(times))}
    except Exception as exc:                              # not installed, offline, or failing
        return {"error": f"{type(exc).__name__}: {exc}"}


def bench_skin_tone(limit: int | None = None) -> dict:
    """Ours vs ``stone`` on the re-toned set: per-range recall, face found, ms per image.

    ``limit`` takes every n-th sample so that about ``limit`` remain (quick runs).
    """
    from lens.evaluation.skin_tone import build_retoned_set

    samples = build_retoned_set()
    if limit and limit < len(samples):
        samples = samples[::max(1, len(samples) // limit)]
    ours, theirs = _ours(samples), _stone(samples)
    out = {"images": len(samples), "set": "2 photos x 4 views x 10 MST x 9 lighting conditions",
           "goal": "recall >= 0.85 in every range, worst within 0.10 of the best"}
    out.update({f"lens {k}": v for k, v in ours.items()})
    out.update({f"stone {k}": v for k, v in theirs.items()})
    return out


if __name__ == "__main__":
    print(json.dumps(bench_skin_tone(int(sys.argv[1]) if len(sys.argv) > 1 else None), indent=2))
