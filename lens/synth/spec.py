"""Product specifications: category, colours, pattern and the render recipe.

A product is fully described by ``make_product(seed, index)``: the category
cycles through :data:`CATEGORIES` (balanced counts), the (colour, pattern)
pair comes from a seeded permutation per category (no two products of one
category share both until a category has more than 150 products), and every
shape, pattern and view parameter comes from ``np.random.default_rng([seed,
index, 0])``.  Nothing depends on other items, so workers can build any
product in any order.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from lens.palette import NAMED_COLORS, hex_to_rgb
from lens.synth import shapes_accessories, shapes_garments, shapes_home
from lens.synth.text import describe_product, material_for

CATEGORIES: list[dict] = [
    {"name": "top", "domain": "fashion", "coarse": "tops"},
    {"name": "dress", "domain": "fashion", "coarse": "dresses"},
    {"name": "trousers", "domain": "fashion", "coarse": "bottoms"},
    {"name": "skirt", "domain": "fashion", "coarse": "bottoms"},
    {"name": "shoe", "domain": "fashion", "coarse": "shoes"},
    {"name": "bag", "domain": "fashion", "coarse": "bags"},
    {"name": "hat", "domain": "fashion", "coarse": "accessories"},
    {"name": "sunglasses", "domain": "fashion", "coarse": "accessories"},
    {"name": "lamp", "domain": "home", "coarse": "lighting"},
    {"name": "chair", "domain": "home", "coarse": "furniture"},
    {"name": "mug", "domain": "home", "coarse": "kitchen"},
    {"name": "vase", "domain": "home", "coarse": "decor"},
    {"name": "cushion", "domain": "home", "coarse": "decor"},
    {"name": "bowl", "domain": "home", "coarse": "kitchen"},
]
CATEGORY_BY_NAME = {c["name"]: c for c in CATEGORIES}
PATTERNS: list[str] = ["solid", "stripes", "dots", "check", "floral"]
COLOR_NAMES: list[str] = list(NAMED_COLORS)
SHAPES = {**shapes_garments.SHAPES, **shapes_accessories.SHAPES, **shapes_home.SHAPES}
CANVAS = 256          # canonical render size (pixels) of every product
# Busy categories (soles, linings, lamp bases) get sparser prints so the main colour still dominates.
PATTERN_DENSITY = {"shoe": 0.7, "lamp": 0.85, "hat": 0.85}
ACCENTS = ["white", "ivory", "yellow", "mustard", "pink", "black", "sky", "lime"]


def _lab(name: str) -> np.ndarray:
    rgb = np.array(hex_to_rgb(NAMED_COLORS[name]), np.float32)[None, None] / 255.0
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[0, 0]


@functools.cache
def contrasting(name: str, min_delta_e: float = 28.0) -> tuple[str, ...]:
    """Named colours at least ``min_delta_e`` (CIE76) away from ``name``."""
    ref = _lab(name)
    return tuple(c for c in COLOR_NAMES if np.linalg.norm(_lab(c) - ref) >= min_delta_e)


@functools.lru_cache(maxsize=256)
def _combos(seed: int, cat_index: int) -> np.ndarray:
    """Seeded permutation of all (colour, pattern) index pairs for one category, (150, 2)."""
    grid = np.array([(c, p) for c in range(len(COLOR_NAMES)) for p in range(len(PATTERNS))])
    return grid[np.random.default_rng([seed, 7919, cat_index]).permutation(len(grid))]


def _r(value: float, nd: int = 4) -> float:
    return round(float(value), nd)


def _pattern_params(rng: np.random.Generator, pattern: str, main: str, second: str,
                    density: float = 1.0) -> dict:
    """Pattern geometry in canonical pixels; covers at most ~30 % of the main material."""
    accents = [a for a in ACCENTS if a not in (main, second)]
    params = {"kind": pattern, "period": _r(rng.uniform(11, 26), 2),
            "angle": _r(rng.choice([0, 90, 45, -45]) + rng.uniform(-8, 8), 2) if pattern == "stripes"
            else _r(rng.uniform(-20, 20), 2),
            "duty": _r(rng.uniform(0.18, 0.3), 3) if pattern == "stripes" else _r(rng.uniform(0.1, 0.16), 3),
            "radius": _r(rng.uniform(0.16, 0.25), 3), "stagger": bool(rng.random() < 0.5),
            "phase": [_r(rng.uniform(0, 1)), _r(rng.uniform(0, 1))],
            "accent_hex": NAMED_COLORS[str(rng.choice(accents))]}
    params["duty"] = _r(params["duty"] * density, 3)
    params["radius"] = _r(params["radius"] * density, 3)
    return params


def _view(rng: np.random.Generator, category: str) -> dict:
    """Pose of the object in its photo and the studio background/shadow settings."""
    upright = category in ("lamp", "chair", "mug", "vase", "bowl")
    return {
        "pose": {"scale": _r(rng.uniform(0.74, 0.9)), "angle": _r(rng.uniform(-2, 2) if upright
                                                                   else rng.uniform(-7, 7), 2),
                 "dx": _r(rng.uniform(-0.05, 0.05)), "dy": _r(rng.uniform(-0.04, 0.04)),
                 "flip": bool(rng.random() < 0.5)},
        "studio": {"top": _r(rng.uniform(238, 252), 1), "bottom": _r(rng.uniform(214, 236), 1),
                   "tint": [_r(v, 2) for v in rng.uniform(-4, 4, 3)],
                   "vignette": _r(rng.uniform(0.02, 0.08)),
                   "shadow": {"dx": _r(rng.uniform(-8, 10), 2), "dy": _r(rng.uniform(5, 12), 2),
                              "sigma": _r(rng.uniform(5, 10), 2), "alpha": _r(rng.uniform(0.22, 0.38))}},
    }


def product_look(seed: int, index: int) -> tuple[str, str]:
    """Product ``index``'s main colour (a palette name) and pattern, without building it."""
    combos = _combos(seed, index % len(CATEGORIES))
    ci, pi = combos[(index // len(CATEGORIES)) % len(combos)]
    return COLOR_NAMES[ci], PATTERNS[pi]


def make_product(seed: int, index: int) -> dict:
    """The manifest record of product ``index`` (without the perturbation)."""
    cat = CATEGORIES[index % len(CATEGORIES)]
    color, pattern = product_look(seed, index)
    rng = np.random.default_rng([seed, index, 0])
    second = str(rng.choice(contrasting(color)))
    sampler, _ = SHAPES[cat["name"]]
    shape = sampler(rng)
    material = material_for(cat["name"], rng)
    render = {"category": cat["name"], "size": CANVAS, "color_hex": NAMED_COLORS[color],
              "secondary_hex": NAMED_COLORS[second], "material": material,
              "pattern": _pattern_params(rng, pattern, color, second, PATTERN_DENSITY.get(cat["name"], 1.0)),
              "shape": shape,
              "texture_seed": int(rng.integers(0, 2**31 - 1)), **_view(rng, cat["name"])}
    title, description = describe_product(cat["name"], color, second, pattern, material, shape, rng)
    pid = f"p{index:05d}"
    return {"id": pid, "kind": "product", "image": f"products/{pid}.jpg", "category": cat["name"],
            "domain": cat["domain"], "coarse": cat["coarse"], "color": color,
            "color_hex": NAMED_COLORS[color], "secondary_color": second, "pattern": pattern,
            "material": material, "title": title, "description": description, "render": render}
