"""The coarse category taxonomy and its mapping from ImageNet classes.

Coarse categories (issue 3): fashion: tops, dresses, bottoms, shoes, bags,
accessories; home: furniture, lighting, decor, kitchen; plus food, beauty and
other.  ImageNet class names (torchvision's IMAGENET1K_V1 ``categories``)
map to a coarse category when they contain one of the keywords below; every
other class maps to ``other``.  The keyword lists are the documentation.
"""
from __future__ import annotations

import functools

import re

import numpy as np

COARSE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "tops": ("jersey", "cardigan", "sweatshirt", "suit", "lab coat", "trench coat", "fur coat",
             "poncho", "kimono", "abaya", "bulletproof vest", "brassiere", "bikini", "maillot"),
    "dresses": ("gown", "overskirt", "hoopskirt"),
    "bottoms": ("jean", "miniskirt", "sarong", "swimming trunks", "pajama"),
    "shoes": ("shoe", "loafer", "clog", "sandal", "boot", "sock"),
    "bags": ("backpack", "purse", "mailbag", "wallet", "plastic bag", "sleeping bag"),
    "accessories": ("sunglass", "hat", "sombrero", "bonnet", "bow tie", "necklace", "stole",
                    "feather boa", "umbrella", "buckle", "mitten", "apron", "bib", "cap",
                    "shower cap", "crash helmet", "wig", "digital watch", "analog clock"),
    "furniture": ("chair", "couch", "table", "desk", "wardrobe", "bookcase", "chiffonier",
                  "four-poster", "cradle", "crib", "throne", "park bench", "china cabinet",
                  "entertainment center", "file", "bannister", "chest", "shoji"),
    "lighting": ("lamp", "lampshade", "spotlight", "candle", "torch", "lantern"),
    "decor": ("vase", "pot", "quilt", "pillow", "window shade", "curtain", "rug", "mosquito net",
              "doormat", "tray", "birdhouse", "picket fence", "jigsaw puzzle", "pinwheel"),
    "kitchen": ("mug", "cup", "teapot", "coffeepot", "frying pan", "wok", "caldron", "ladle",
                "spatula", "plate", "bowl", "pitcher", "water jug", "beer glass", "goblet",
                "measuring cup", "mixing bowl", "saltshaker", "toaster", "waffle iron",
                "microwave", "Dutch oven", "crock pot", "espresso maker", "corkscrew",
                "can opener", "whiskey jug", "wine bottle", "water bottle", "strainer"),
    "food": ("pizza", "burrito", "hotdog", "cheeseburger", "bagel", "pretzel", "guacamole",
             "consomme", "trifle", "ice cream", "ice lolly", "French loaf", "mashed potato",
             "head cabbage", "broccoli", "cauliflower", "zucchini", "squash", "cucumber",
             "artichoke", "bell pepper", "mushroom", "Granny Smith", "strawberry", "orange",
             "lemon", "fig", "pineapple", "banana", "jackfruit", "custard apple", "pomegranate",
             "carbonara", "chocolate sauce", "dough", "meat loaf", "potpie", "espresso",
             "red wine", "eggnog", "hay"),
    "beauty": ("lipstick", "perfume", "lotion", "hair spray", "face powder", "sunscreen",
               "hair slide", "band aid"),
}
COARSE_DOMAIN = {"tops": "fashion", "dresses": "fashion", "bottoms": "fashion",
                 "shoes": "fashion", "bags": "fashion", "accessories": "fashion",
                 "furniture": "home", "lighting": "home", "decor": "home", "kitchen": "home",
                 "food": "food", "beauty": "beauty", "other": "other"}
COARSE_CATEGORIES = tuple(COARSE_DOMAIN)

# Checked in order: the first coarse category whose keyword matches wins, so
# "coffee mug" is kitchen, "table lamp" is lighting (checked before furniture).
# Keywords match whole words (plural s / es allowed): as substrings, "cup" made
# porcupine kitchen, "hat" hatchet and thatch accessories, "rug" rugby ball decor.
_ORDER = ("lighting", "kitchen", "shoes", "bags", "dresses", "bottoms", "tops", "beauty",
          "food", "decor", "accessories", "furniture")
_PATTERNS = {c: re.compile(r"\b(?:" + "|".join(re.escape(k.lower()) for k in words) + r")(?:s|es)?\b")
             for c, words in COARSE_KEYWORDS.items()}


def coarse_of(imagenet_name: str) -> str:
    """The coarse category of one ImageNet class name."""
    name = imagenet_name.lower()
    for coarse in _ORDER:
        if _PATTERNS[coarse].search(name):
            return coarse
    return "other"


@functools.lru_cache(maxsize=8)
def _coarse_index(class_names: tuple[str, ...]) -> np.ndarray:
    """Each class's position in ``COARSE_CATEGORIES`` (the 1,000 regex matches run once)."""
    return np.array([COARSE_CATEGORIES.index(coarse_of(n)) for n in class_names], np.int64)


def coarse_scores(probs: np.ndarray, class_names: list[str]) -> dict[str, float]:
    """Sum ImageNet probabilities ``(1000,)`` per coarse category."""
    index = _coarse_index(tuple(class_names))
    n = min(len(index), len(probs))
    sums = np.bincount(index[:n], weights=np.asarray(probs[:n], np.float64), minlength=len(COARSE_CATEGORIES))
    return {c: float(v) for c, v in zip(COARSE_CATEGORIES, sums)}

# The garment classes a detector trained on real street fashion finds (`lens data ccp`; issue 19),
# each with the coarse category its crops are understood and searched as.  Skin and hair are not
# objects; legwear, jewellery and other small accessories are left to the whole-person crop.
GARMENT_COARSE: dict[str, str] = {"upper_body": "tops", "lower_body": "bottoms", "dress": "dresses",
                                  "footwear": "shoes", "bag": "bags", "hat": "accessories",
                                  "sunglasses": "accessories", "belt": "accessories"}
GARMENT_CLASSES = tuple(GARMENT_COARSE)
