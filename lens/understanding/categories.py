"""Categories: ImageNet top-k mapped to the coarse taxonomy of :mod:`lens.taxonomy`.

Tested in ``tests/test_understanding.py``.
"""
from __future__ import annotations

import numpy as np

from lens.taxonomy import coarse_scores


def categories(logits: np.ndarray | None, class_names: list[str], top_k: int = 5) -> list[dict]:
    """ImageNet top-k and the best coarse categories, each with a probability."""
    if logits is None:
        return []
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    coarse = sorted(coarse_scores(probs, class_names).items(), key=lambda kv: -kv[1])
    top = np.argsort(-probs)[:top_k]
    return ([{"kind": "coarse", "name": n, "score": round(s, 4)} for n, s in coarse[:3] if s > 0.05] +
            [{"kind": "imagenet", "name": class_names[i], "score": round(float(probs[i]), 4)}
             for i in top])


