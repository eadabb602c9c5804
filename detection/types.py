"""What every detector returns: :class:`Detection`, in the one box convention."""
from __future__ import annotations

from dataclasses import dataclass, field

from lens.boxes import Box


@dataclass
class Detection:
    """One detected region.

    ``box`` is pixel ``(x1, y1, x2, y2)`` (see :mod:`lens.boxes`); ``score``
    is in 0..1; ``source`` names the detector (``faces``, ``regions``, ...);
    ``keypoints`` are pixel ``(x, y)`` pairs by name where the detector has them.
    """

    box: Box
    label: str
    score: float
    source: str
    keypoints: dict[str, tuple[float, float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {"box": self.box.as_list(), "label": self.label,
               "score": round(float(self.score), 4), "source": self.source}
        if self.keypoints:
            out["keypoints"] = {k: [round(x, 1), round(y, 1)] for k, (x, y) in self.keypoints.items()}
        return out
