"""Query understanding: what an image shows, as one typed result.

:class:`QueryUnderstanding` computes, for a whole image or a crop:

1. salient colours: up to ``understanding.colors`` k-means clusters in CIELAB
   over the foreground (pixels that differ from a uniform border are kept
   when the border is uniform), each with weight, sRGB hex and the nearest
   name of :data:`lens.palette.NAMED_COLORS` by CIEDE2000;
2. lighting: mean L* brightness, L* contrast, clipped shares, low-light flag;
3. quality: variance of the Laplacian (blur, on a 256-px grey image so it is
   comparable across sizes), resolution;
4. categories: ImageNet top-k from the embedder's classifier, mapped to the
   coarse taxonomy of :mod:`lens.taxonomy`.

Each signal lives in its own module of this package; this one holds the
result type and :class:`QueryUnderstanding`, which runs them all.
Tested in ``tests/test_understanding.py``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from lens.config import UnderstandingConfig
from lens.understanding.categories import categories
from lens.understanding.colors import SalientColor, color_name, foreground_mask, salient_colors
from lens.understanding.lighting import lighting
from lens.understanding.quality import quality

__all__ = ["QueryUnderstanding", "Understanding", "SalientColor", "color_name", "foreground_mask",
           "salient_colors", "lighting", "quality", "categories"]


@dataclass
class Understanding:
    width: int
    height: int
    colors: list[SalientColor] = field(default_factory=list)
    lighting: dict = field(default_factory=dict)
    quality: dict = field(default_factory=dict)
    categories: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class QueryUnderstanding:
    """Computes an :class:`Understanding`; see the module docstring."""

    def __init__(self, n_colors: int = 5, top_k: int = 5):
        self.n_colors, self.top_k = n_colors, top_k

    @classmethod
    def from_config(cls, config: UnderstandingConfig) -> "QueryUnderstanding":
        return cls(config.colors, config.categories_top_k)

    def __call__(self, rgb: np.ndarray, logits: np.ndarray | None = None,
                 class_names: list[str] | None = None) -> Understanding:
        h, w = rgb.shape[:2]
        result = Understanding(w, h)
        if min(h, w) < 8:
            result.notes.append(f"image {w}x{h} is too small for colours and quality")
            return result
        result.colors = salient_colors(rgb, self.n_colors)
        result.lighting = lighting(rgb)
        result.quality = quality(rgb)
        result.categories = categories(logits, class_names or [], self.top_k)
        return result
