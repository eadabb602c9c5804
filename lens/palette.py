"""Fixed colour vocabularies shared by the synthetic catalog and query understanding.

* ``NAMED_COLORS``: the named palette (30 names) used for colour names in
  annotations, filters and the synthetic ground truth.
* ``MST_HEX``: the Monk Skin Tone scale, MST-1 ... MST-10 (sRGB), from
  ``../shared/REFERENCE.md`` §2.
* ``MST_RANGES``: our own mapping from MST to 4 skin tone ranges.  Pinterest
  publishes no numeric boundaries, so we document ours: range 1 = MST 1-3
  (lightest), range 2 = MST 4-5, range 3 = MST 6-7, range 4 = MST 8-10
  (darkest).  The split keeps the lightness steps between neighbouring ranges
  similar in CIELAB L* and gives the darkest tones their own range.
"""
from __future__ import annotations

import numpy as np

NAMED_COLORS: dict[str, str] = {
    "black": "#1b1b1b", "charcoal": "#3d4145", "gray": "#8a8d91", "silver": "#c4c7cc",
    "white": "#f4f4f2", "ivory": "#efe6cf", "beige": "#d8c3a0", "tan": "#b9905f",
    "brown": "#6e4a2e", "chocolate": "#4a2c1d", "maroon": "#6d1a24", "burgundy": "#8c1c3a",
    "red": "#c8202c", "coral": "#f0755f", "pink": "#f2a3bd", "magenta": "#c2187c",
    "orange": "#ec7a1c", "mustard": "#d2a21d", "yellow": "#f3d430", "olive": "#6f7234",
    "lime": "#9bcc3a", "green": "#2f8f3f", "forest": "#1f4d2e", "teal": "#1c8486",
    "turquoise": "#3fc1c0", "sky": "#84bde8", "blue": "#2454b5", "navy": "#1c2a55",
    "purple": "#6a3996", "lavender": "#b9a3db",
}

COLOR_FAMILY_NAMES = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "neutral")
# NAMED_COLORS -> family, the DPP colour dimension (blender/dpp.py): hue first;
# greys, black, white and pale creams are neutral
COLOR_FAMILIES: dict[str, str] = {
    "black": "neutral", "charcoal": "neutral", "gray": "neutral", "silver": "neutral",
    "white": "neutral", "ivory": "neutral", "beige": "neutral", "tan": "brown",
    "brown": "brown", "chocolate": "brown", "maroon": "red", "burgundy": "red",
    "red": "red", "coral": "orange", "pink": "pink", "magenta": "pink",
    "orange": "orange", "mustard": "yellow", "yellow": "yellow", "olive": "green",
    "lime": "green", "green": "green", "forest": "green", "teal": "blue",
    "turquoise": "blue", "sky": "blue", "blue": "blue", "navy": "blue",
    "purple": "purple", "lavender": "purple",
}

MST_HEX: list[str] = ["#f6ede4", "#f3e7db", "#f7ead0", "#eadaba", "#d7bd96",
                      "#a07e56", "#825c43", "#604134", "#3a312a", "#292420"]

MST_RANGES: dict[int, int] = {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 3, 7: 3, 8: 4, 9: 4, 10: 4}
SKIN_TONE_RANGES = (1, 2, 3, 4)


def hex_to_rgb(value: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` -> ``(r, g, b)`` in 0..255."""
    value = value.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"colour {value!r}: expected #rrggbb")
    return tuple(int(value[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def rgb_to_hex(rgb) -> str:
    r, g, b = (int(np.clip(round(float(c)), 0, 255)) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def mst_range(mst: int) -> int:
    """The skin tone range (1-4) of a Monk Skin Tone value (1-10)."""
    if mst not in MST_RANGES:
        raise ValueError(f"MST value {mst!r}: expected an integer 1-10")
    return MST_RANGES[mst]
