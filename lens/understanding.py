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

Issue 3 deepens each part.  Tested in ``tests/test_understanding.py``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

from lens.config import UnderstandingConfig
from lens.palette import NAMED_COLORS, hex_to_rgb, rgb_to_hex
from lens.taxonomy import coarse_scores

_PALETTE_NAMES = list(NAMED_COLORS)
_PALETTE_LAB = rgb2lab(np.array([[hex_to_rgb(h) for h in NAMED_COLORS.values()]],
                                dtype=np.float64) / 255.0)[0]
WORK_SIDE = 128          # colours on a 128-px thumbnail: 16k pixels, ~2 ms k-means
BLUR_SIDE = 256          # blur measured at a fixed size so scores compare across inputs
LOW_LIGHT_L = 25.0       # mean L* under 25 reads as a dark photo


@dataclass
class SalientColor:
    name: str
    hex: str
    weight: float
    lab: list[float]


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


def color_name(lab: np.ndarray) -> str:
    """Nearest palette name of one CIELAB colour, by CIEDE2000."""
    d = deltaE_ciede2000(np.repeat(lab[None, :], len(_PALETTE_LAB), axis=0), _PALETTE_LAB)
    return _PALETTE_NAMES[int(np.argmin(d))]


def _thumbnail(rgb: np.ndarray, side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                      interpolation=cv2.INTER_AREA)


def foreground_mask(lab: np.ndarray, tol: float = 12.0) -> np.ndarray | None:
    """Pixels unlike a uniform border, or ``None`` when the border is not uniform."""
    border = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    median = np.median(border, axis=0)
    spread = np.median(np.linalg.norm(border - median, axis=1))
    if spread > tol / 2:
        return None
    mask = np.linalg.norm(lab - median, axis=2) > tol
    return mask if mask.mean() > 0.02 else None


def salient_colors(rgb: np.ndarray, k: int = 5) -> list[SalientColor]:
    """Up to ``k`` colours of the foreground with weights summing to 1."""
    lab = rgb2lab(_thumbnail(rgb, WORK_SIDE)).astype(np.float32)
    mask = foreground_mask(lab)
    pixels = lab[mask] if mask is not None else lab.reshape(-1, 3)
    if len(pixels) < k:
        return []
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)  # deterministic colours for the same image
    _, labels, centers = cv2.kmeans(pixels, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    counts = np.bincount(labels.ravel(), minlength=k).astype(np.float64)
    merged: dict[str, list] = {}
    for center, count in zip(centers, counts):
        name = color_name(center.astype(np.float64))
        entry = merged.setdefault(name, [np.zeros(3), 0.0])
        entry[0] += center * count
        entry[1] += count
    out = []
    for name, (lab_sum, count) in merged.items():
        mean = lab_sum / count
        rgb_mean = cv2.cvtColor(mean.reshape(1, 1, 3).astype(np.float32), cv2.COLOR_Lab2RGB)[0, 0]
        out.append(SalientColor(name, rgb_to_hex(rgb_mean * 255), round(float(count / counts.sum()), 4),
                                [round(float(v), 2) for v in mean]))
    return sorted(out, key=lambda c: -c.weight)


def lighting(rgb: np.ndarray) -> dict:
    """Brightness (mean L*/100), contrast (std L*/100), clipped shares, low light."""
    gray = cv2.cvtColor(_thumbnail(rgb, BLUR_SIDE), cv2.COLOR_RGB2GRAY)
    lum = rgb2lab(_thumbnail(rgb, WORK_SIDE))[..., 0]
    return {"brightness": round(float(lum.mean() / 100), 4),
            "contrast": round(float(lum.std() / 100), 4),
            "clipped_dark": round(float((gray <= 5).mean()), 4),
            "clipped_bright": round(float((gray >= 250).mean()), 4),
            "low_light": bool(lum.mean() < LOW_LIGHT_L)}


def quality(rgb: np.ndarray) -> dict:
    """Blur as variance of the Laplacian at 256 px; resolution in megapixels."""
    gray = cv2.cvtColor(_thumbnail(rgb, BLUR_SIDE), cv2.COLOR_RGB2GRAY)
    sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    h, w = rgb.shape[:2]
    return {"sharpness": round(sharpness, 2), "megapixels": round(h * w / 1e6, 4)}


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
