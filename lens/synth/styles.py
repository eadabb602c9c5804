"""Style rules for synthetic scenes (issue 23.1): which products go together, known for every pair.

With ``lens synth --styles`` each scene draws a latent style (its own random stream, so a catalog
without styles is generated exactly as before) and every product it shows, worn or placed, is one
the style admits.  A style is a rule and a colour family (:data:`lens.palette.COLOR_FAMILIES`):

* ``monochrome``: pieces of the family, plain (solid);
* ``neutral + accent``: neutral pieces, plain or striped, with pieces of the family in any pattern
  (the bold piece against the neutrals);
* ``complementary``: pieces of the family or of its complement (red / green, orange / blue,
  yellow / purple), in a print (dots, check, floral).

:func:`admits` says whether a product (its ``color`` and ``pattern``) goes with a style, so any
scene-product pair's compatibility is known; a product's manifest record lists the styles it fits
(:func:`fitting`) and a scene's its ``style``.  Tested in ``tests/test_synth.py``.
"""
from __future__ import annotations

import numpy as np

from lens.palette import COLOR_FAMILIES

RULES = ("monochrome", "neutral + accent", "complementary")
COMPLEMENT = {"red": "green", "green": "red", "orange": "blue", "blue": "orange", "yellow": "purple",
              "purple": "yellow"}
FAMILIES = {"monochrome": ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown"),
            "neutral + accent": ("red", "orange", "yellow", "green", "blue", "purple", "pink"),
            "complementary": tuple(COMPLEMENT)}
PRINTS = ("dots", "check", "floral")
SALT_STYLE = 29        # the style's random stream, apart from the scene's own


def draw(seed: int, index: int) -> dict:
    """Scene ``index``'s style: ``{"rule", "family", "name"}``."""
    rng = np.random.default_rng([seed, index, SALT_STYLE])
    rule = RULES[int(rng.integers(len(RULES)))]
    family = FAMILIES[rule][int(rng.integers(len(FAMILIES[rule])))]
    return {"rule": rule, "family": family, "name": f"{rule} {family}"}


def admits(style: dict, color: str, pattern: str) -> bool:
    """Does a product of ``color`` (a palette name) and ``pattern`` go with ``style``?"""
    family, rule = COLOR_FAMILIES.get(color), style["rule"]
    if rule == "monochrome":
        return family == style["family"] and pattern == "solid"
    if rule == "neutral + accent":
        return (family == "neutral" and pattern in ("solid", "stripes")) or family == style["family"]
    return family in (style["family"], COMPLEMENT[style["family"]]) and pattern in PRINTS


def fitting(color: str, pattern: str) -> list[str]:
    """The names of every style that admits a product of ``color`` and ``pattern``."""
    return [f"{rule} {family}" for rule in RULES for family in FAMILIES[rule]
            if admits({"rule": rule, "family": family}, color, pattern)]
