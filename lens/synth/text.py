"""Templated product titles and descriptions (varied, always truthful).

Every title names the colour, the pattern (unless solid) and the product noun;
descriptions add the material, the secondary colour and one shape detail taken
from the render parameters, so text search has real signal.
"""
from __future__ import annotations

import numpy as np

MATERIALS: dict[str, list[str]] = {
    "top": ["cotton", "linen", "jersey", "silk", "poplin", "knit"],
    "dress": ["cotton", "linen", "chiffon", "satin", "crepe", "jersey"],
    "trousers": ["twill", "wool", "linen", "corduroy", "cotton", "denim"],
    "skirt": ["cotton", "linen", "satin", "wool", "denim", "crepe"],
    "shoe": ["leather", "suede", "canvas", "patent leather"],
    "bag": ["leather", "canvas", "suede", "vegan leather"],
    "hat": ["straw", "wool felt", "cotton", "knit"],
    "sunglasses": ["acetate", "metal", "recycled acetate"],
    "lamp": ["linen", "cotton", "paper", "silk"],
    "chair": ["velvet", "boucle", "linen", "leather"],
    "mug": ["ceramic", "stoneware", "porcelain"],
    "vase": ["ceramic", "glass", "stoneware", "porcelain"],
    "cushion": ["velvet", "linen", "cotton", "wool"],
    "bowl": ["ceramic", "stoneware", "porcelain", "enamel"],
}
# How a material looks: which texture and gloss the renderer gives it.
FINISH: dict[str, str] = {
    "cotton": "fabric", "linen": "fabric", "jersey": "fabric", "silk": "satin", "poplin": "fabric",
    "knit": "knit", "chiffon": "satin", "satin": "satin", "crepe": "fabric", "twill": "fabric",
    "wool": "felt", "corduroy": "knit", "denim": "fabric", "leather": "leather",
    "suede": "felt", "canvas": "fabric", "patent leather": "gloss", "vegan leather": "leather",
    "straw": "straw", "wool felt": "felt", "acetate": "gloss", "metal": "gloss",
    "recycled acetate": "gloss", "paper": "felt", "velvet": "felt", "boucle": "knit",
    "ceramic": "gloss", "stoneware": "ceramic", "porcelain": "gloss", "glass": "gloss",
    "enamel": "gloss",
}
PATTERN_ADJ = {"solid": [""], "stripes": ["striped", "stripe"], "dots": ["polka-dot", "dotted", "spotted"],
               "check": ["checked", "gingham", "check"], "floral": ["floral", "flower-print"]}
PATTERN_NOUN = {"stripes": "stripes", "dots": "polka dots", "check": "checks", "floral": "flowers"}
ADJECTIVES = ["classic", "relaxed", "everyday", "minimal", "vintage-style", "modern", "soft",
              "statement", "timeless", "easy"]
PAIRINGS = {"fashion": ["Pairs well with neutral basics.", "Made to be worn every day.",
                        "A versatile piece for any season.", "Easy to style up or down."],
            "home": ["Adds a pop of colour to any room.", "Designed for everyday use.",
                     "A simple piece with a considered finish.", "Brings warmth to a shelf or table."]}
HOME = ("lamp", "chair", "mug", "vase", "cushion", "bowl")
DETAILS = {"bag": "A {style} with room for the essentials.", "hat": "A {style} with a soft structured crown.",
           "sunglasses": "{Style} frames with tinted lenses.", "mug": "A glazed {style} that holds a generous cup.",
           "vase": "A {style} with a smooth glazed finish.", "cushion": "A plump {style} with a soft fill.",
           "bowl": "A {style} with a gently curved profile."}


def article(word: str) -> str:
    """'a' or 'an' for ``word``."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _opening(adj: str, noun: str) -> str:
    """'A classic' / 'An easy' / 'A pair of easy' (for trousers, shoes, sunglasses)."""
    plural = noun.endswith(("trousers", "chinos", "culottes", "sunglasses", "sneakers", "loafers",
                            "pumps", "boots", "flats"))
    return f"A pair of {adj}" if plural else f"{article(adj).capitalize()} {adj}"


def material_for(category: str, rng: np.random.Generator) -> str:
    """A material plausible for ``category``."""
    if category not in MATERIALS:
        raise ValueError(f"unknown category {category!r}")
    return str(rng.choice(MATERIALS[category]))


def finish_of(material: str) -> str:
    """The render finish (fabric, knit, satin, felt, leather, gloss, ceramic, straw)."""
    return FINISH.get(material, "fabric")


def _detail(category: str, shape: dict) -> str:
    """One sentence about the product's shape, read from its render parameters."""
    s = shape
    if category in ("top", "dress"):
        sl = s.get("sleeve_len", 0.0)
        neck = "V" if s.get("neck_depth", 0) > 0.08 else "round"
        if sl < 0.02:
            return f"Sleeveless, with a {neck} neckline."
        return f"Cut with {'short' if sl < 0.2 else 'long'} sleeves and a {neck} neckline."
    if category in ("trousers", "skirt"):
        fit = "wide" if s.get("hem_w", 0) > (0.2 if category == "trousers" else 0.62) else "slim"
        return f"A {fit} silhouette with a neat waistband."
    if category == "shoe":
        return "Raised on a slim heel." if s.get("heel_h", 0) > 0.08 else "Set on a comfortable flat sole."
    if category == "lamp":
        shade = s.get("shade_style", "drum")
        return f"{article(shade).capitalize()} {shade} shade on a {s.get('base_style', 'slim')} base."
    if category == "chair":
        return "With armrests and a padded seat." if s.get("arms") else "A padded seat on slim legs."
    style = s.get("style", category)
    return DETAILS.get(category, "A {style}.").format(style=style, Style=style[:1].upper() + style[1:])


def describe_product(category: str, color: str, second: str, pattern: str, material: str,
                     shape: dict, rng: np.random.Generator) -> tuple[str, str]:
    """(title, description) for one product; wording varies with ``rng``."""
    noun = shape.get("noun", category)
    padj = str(rng.choice(PATTERN_ADJ[pattern]))
    adj = str(rng.choice(ADJECTIVES))
    form = int(rng.integers(0, 3))
    if pattern == "solid":
        words = [color, material, noun] if form != 1 else [adj, color, material, noun]
        title = " ".join(words)
    elif form == 0:
        title = f"{color} {padj} {material} {noun}"
    elif form == 1:
        title = f"{adj} {color} {padj} {noun}"
    else:
        title = f"{color} {noun} with {second} {PATTERN_NOUN[pattern]}"
    title = title[0].upper() + title[1:]
    if pattern == "solid":
        trim = f", with {second} details" if shape.get("trim") else ", in one solid colour"
        first = f"{_opening(adj, noun)} {color} {noun} in {material}{trim}."
    else:
        first = (f"{_opening(adj, noun)} {color} {noun} in {material} with {article(second)} {second} "
                 f"{PATTERN_ADJ[pattern][0]} pattern.")
    pairings = PAIRINGS["home" if category in HOME else "fashion"]
    description = " ".join([first, _detail(category, shape), str(rng.choice(pairings))])
    return title, description
