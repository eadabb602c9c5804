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

# name -> (sRGB hex, colour family).  The family is the DPP colour dimension
# (blender/dpp.py): hue first; greys, black, white and pale creams are neutral.
_PALETTE: dict[str, tuple[str, str]] = {
    "black": ("#1b1b1b", "neutral"), "charcoal": ("#3d4145", "neutral"), "gray": ("#8a8d91", "neutral"),
    "silver": ("#c4c7cc", "neutral"), "white": ("#f4f4f2", "neutral"), "ivory": ("#efe6cf", "neutral"),
    "beige": ("#d8c3a0", "neutral"), "tan": ("#b9905f", "brown"), "brown": ("#6e4a2e", "brown"),
    "chocolate": ("#4a2c1d", "brown"), "maroon": ("#6d1a24", "red"), "burgundy": ("#8c1c3a", "red"),
    "red": ("#c8202c", "red"), "coral": ("#f0755f", "orange"), "pink": ("#f2a3bd", "pink"),
    "magenta": ("#c2187c", "pink"), "orange": ("#ec7a1c", "orange"), "mustard": ("#d2a21d", "yellow"),
    "yellow": ("#f3d430", "yellow"), "olive": ("#6f7234", "green"), "lime": ("#9bcc3a", "green"),
    "green": ("#2f8f3f", "green"), "forest": ("#1f4d2e", "green"), "teal": ("#1c8486", "blue"),
    "turquoise": ("#3fc1c0", "blue"), "sky": ("#84bde8", "blue"), "blue": ("#2454b5", "blue"),
    "navy": ("#1c2a55", "blue"), "purple": ("#6a3996", "purple"), "lavender": ("#b9a3db", "purple"),
}
NAMED_COLORS: dict[str, str] = {name: hex_ for name, (hex_, _) in _PALETTE.items()}
COLOR_FAMILY_NAMES = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "neutral")
COLOR_FAMILIES: dict[str, str] = {name: family for name, (_, family) in _PALETTE.items()}

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


def skin_tone_scale() -> dict:
    """The scale the UI draws and filters by, from :data:`MST_HEX` and :data:`MST_RANGES`:
    ``{"mst": [hex of MST 1..10], "ranges": [{"range", "label", "first", "last", "colors"}, ...]}``."""
    ranges = []
    for r in SKIN_TONE_RANGES:
        members = [m for m, rr in sorted(MST_RANGES.items()) if rr == r]
        ranges.append({"range": r, "label": f"MST {members[0]}-{members[-1]}", "first": members[0],
                       "last": members[-1], "colors": [MST_HEX[m - 1] for m in members]})
    return {"mst": list(MST_HEX), "ranges": ranges}


def mst_range(mst: int) -> int:
    """The skin tone range (1-4) of a Monk Skin Tone value (1-10)."""
    if mst not in MST_RANGES:
        raise ValueError(f"MST value {mst!r}: expected an integer 1-10")
    return MST_RANGES[mst]
