"""The relevance floor: a page never pads itself with unrelated items.

Each source's scores are calibrated against the catalog's own score distribution
(:mod:`blender.calibrate`: the empirical CDF of the top-20 scores that catalog items get as
queries), so one number means the same for every source and every catalog: ``0.3`` is "better
than 30 % of the scores this source gives the catalog's own items' nearest neighbours".  An
item is *close* when its best calibrated score over the sources that found it reaches
``blend.min_relevance``; the rest are left out of the page.  When nothing is close the
response says so (``no close matches``), and with ``loose`` the best few below the floor come
after the page, each marked ``loose``.

A source the calibration could not fit (too few catalog hits: a catalog of a few dozen items)
has no distribution to judge by; its scores pass the floor.

Tested in ``tests/test_relevance.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

NO_CLOSE = "no close matches"


@dataclass
class Split:
    close: list = field(default_factory=list)       # BlendedItems at or above the floor, in order
    below: list = field(default_factory=list)       # the others, best first

    def report(self, floor: float, loose_shown: int) -> dict:
        return {"min_relevance": floor, "close": len(self.close), "below_floor": len(self.below),
                "loose_shown": loose_shown, "message": NO_CLOSE if not self.close else ""}


def check_settings(floor: float, loose: int) -> None:
    """``ValueError`` naming the key when ``blend.min_relevance`` or ``blend.loose`` is out of range."""
    if not 0.0 <= floor < 1.0:
        raise ValueError(f"blend.min_relevance {floor}: expected 0 <= value < 1 (0 = off)")
    if loose < 0:
        raise ValueError(f"blend.loose {loose}: expected >= 0")


def relevance(item, calibrated_sources: set[str]) -> float:
    """An item's best calibrated score; 1.0 when a source that found it is uncalibrated."""
    if any(s not in calibrated_sources for s in item.per_source):
        return 1.0
    return max(item.per_source.values(), default=0.0)


def split(blended: list, floor: float, calibration) -> Split:
    """``blended`` (BlendedItems, best first) cut at ``floor``; 0 keeps everything."""
    if floor <= 0:
        return Split(list(blended), [])
    calibrated = {s for s, knots in (calibration.knots.items() if calibration else []) if knots}
    out = Split()
    for item in blended:
        (out.close if relevance(item, calibrated) >= floor else out.below).append(item)
    return out
