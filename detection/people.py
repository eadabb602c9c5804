"""People and garment regions from person segmentation and pose landmarks.

:class:`PeopleDetector` takes an ``H x W x 3`` uint8 RGB image and returns
:class:`~lens.types.Detection` objects (source ``people``):

* ``person``: the pose's person mask box (segmentation candidates whose pose
  does not fit are dropped: vases and garments on plain backgrounds; so are
  poses without a head, :func:`detection.pose.has_head`: a face at the nose,
  or a head cut off by the frame top.  Faces come from the detection
  pipeline's face detector, else the detector runs its own).
* ``upper_body``: from just above the shoulder line down to where the
  colour of the body's central band leaves the chest colour (the top's hem);
  a dress runs on; waist-up shots end at the person's bottom edge.
* ``lower_body``: from there (hips visible) to where the colour changes again
  (trousers, skirts), at least ``MIN_LOWER`` of the person's height.
* ``footwear``: heel, ankle and toe landmarks of each visible foot, padded.

Widths come from the person mask in those rows, so sleeves, skirts and arms
are inside the box.  A region needs its landmarks at mediapipe visibility
>= ``MIN_VISIBILITY``; its score is the mean visibility of those landmarks.
This gives real fashion photos useful crops without COCO weights.  No
landmarks or masks are returned: boxes, labels and scores only.

Tested in ``tests/test_people.py``.
"""
from __future__ import annotations

import warnings

import cv2
import numpy as np

from detection.faces import FaceDetector
from detection.pose import SOURCE, PeopleGraphs, face_boxes, has_head, person_candidates
from lens.boxes import Box
from lens.imageio import MIN_SIDE, is_uniform
from lens.types import Detection

WORK_SIDE = 1024                # pose and segmentation work on <= 1024 px (they see 256 px anyway)
MAX_PEOPLE = 4                  # hotspots per image stay readable
MIN_VISIBILITY = 0.5            # mediapipe's own "visible" cut-off for a landmark
SHOULDERS, HIPS, KNEES, ANKLES = (11, 12), (23, 24), (25, 26), (27, 28)
FEET = ((27, 29, 31), (28, 30, 32))   # ankle, heel, foot index: right foot, left foot
UPPER_ABOVE = 0.15              # of the shoulder width above the shoulder line: collars, shoulders
CHEST_BELOW = 0.35              # of the shoulder width below it: the chest, past any neckline
GARMENT_DE = 14.0               # CIE76 (OpenCV 8-bit Lab) between garments; a shadow fold stays under
GARMENT_GAP = 0.025             # of the person height: a change must last this long (not a belt or fold)
TORSO_MIN = 0.9                # shoulders-to-hips / shoulder width; adults ~1.3, less is a guessed hip
MIN_LOWER = 0.1                 # of the person height: shorter "bottoms" are a belt or a hem
FOOT_PAD = 0.45                 # of the foot's landmark spread: a shoe is larger than its joints
FEET_SHARE = 0.15              # of the person height: a last colour segment this short is footwear
FEET_BY_MASK = 0.7              # score factor for feet found by colour, not landmarks
FOOT_MIN = 0.03                 # of the person height: the smallest spread a padded foot assumes


class PeopleDetector:
    """Selfie segmentation -> pose by ROI -> person, upper body, lower body, footwear boxes."""

    takes_faces = True      # the pipeline's faces: a pose is a person only with a head

    def __init__(self, max_people: int = MAX_PEOPLE, graphs: PeopleGraphs | None = None):
        """``graphs``: mediapipe's, shared with body type (the model bundle's) so an image is
        segmented and posed once."""
        self.max_people = max_people
        self._people = graphs or PeopleGraphs()
        self._faces: FaceDetector | None = None     # built on the first call given no faces

    @classmethod
    def from_config(cls, config=None, models=None, graphs: PeopleGraphs | None = None) -> "PeopleDetector":
        """``models`` (a :class:`lens.models.ModelStore`) checks both bundled models are on disk."""
        if models is not None:
            models.resolve("pose_full")
            models.resolve("selfie_segmentation")
        return cls(graphs=graphs)

    def __call__(self, rgb: np.ndarray, faces: list[Detection] | None = None) -> list[Detection]:
        """``rgb``: H x W x 3 uint8; ``faces``: the face detections already made on it (None:
        found here).  Boxes in pixels of ``rgb``."""
        h, w = rgb.shape[:2]
        if min(h, w) < MIN_SIDE or is_uniform(rgb):
            return []
        scale = min(1.0, WORK_SIDE / max(h, w))
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        heads = face_boxes(self._own_faces(small) if faces is None else faces, 1.0 if faces is None else scale)
        out: list[Detection] = []
        with self._people.lock, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # protobuf deprecation noise, per call
            check = self._people.face_check(small)
            for box, _cut in person_candidates(self._people.segment(small), self.max_people):
                found = self._people.pose(small, box)
                if found is not None and has_head(found[0], box, small.shape[0], heads, check):
                    out.extend(person_regions(*found, small))
        return [Detection(d.box.scale(1 / scale).clip(w, h), d.label, d.score, d.source) for d in out]

    def _own_faces(self, rgb: np.ndarray) -> list[Detection]:
        if self._faces is None:
            self._faces = FaceDetector()
        return self._faces(rgb)

    def close(self) -> None:
        self._people.close()
        if self._faces is not None:
            self._faces.close()


def _visible(points: np.ndarray, ids) -> bool:
    return bool((points[list(ids), 2] >= MIN_VISIBILITY).all())


def _score(points: np.ndarray, ids) -> float:
    return round(float(points[list(ids), 2].mean()), 4)


def _row_box(mask: np.ndarray, top: float, bottom: float) -> Box | None:
    """The mask's column extent in rows ``top..bottom`` as a box, or None when empty."""
    h = mask.shape[0]
    y1, y2 = int(max(0, top)), int(min(h, bottom))
    if y2 - y1 < 2:
        return None
    cols = np.flatnonzero(mask[y1:y2].any(0))
    return None if len(cols) == 0 else Box(float(cols[0]), float(y1), float(cols[-1] + 1), float(y2))


def _row_colours(lab: np.ndarray, mask: np.ndarray, x1: int, x2: int, window: int, start: int = 0) -> np.ndarray:
    """Per-row median CIELAB of the mask pixels in columns x1..x2 over ``window`` rows from
    that row down (stripes and checks finer than the window average out); NaN where empty
    and above ``start`` (rows nobody reads).  ``lab``: OpenCV's 8-bit Lab, whole numbers 0..255.

    Exactly ``np.median`` of each window, from histograms: each row's 256-bin counts per
    channel, summed over the window by a cumulative sum, the middle order statistics read
    off their running totals (a street photo: 55 -> 7 ms; it was one median a row)."""
    h = mask.shape[0]
    out = np.full((h, 3), np.nan, np.float32)
    band, inside = lab[:, x1:x2], mask[:, x1:x2]
    ys = np.flatnonzero(inside.sum(1) >= 3)
    ys = ys[ys >= start]
    if len(ys) == 0:
        return out
    rows, values = np.nonzero(inside)[0], band[inside].astype(np.int64)
    counts = np.stack([np.bincount(rows * 256 + values[:, c], minlength=h * 256).reshape(h, 256)
                       for c in range(3)], 1)                                   # (h, 3, 256)
    running = np.concatenate([np.zeros((1, 3, 256), np.int32), np.cumsum(counts, 0, dtype=np.int32)])
    cdf = np.cumsum(running[np.minimum(ys + window, h)] - running[ys], 2, dtype=np.int32)
    n = cdf[:, 0, -1]
    lo, hi = ((n - 1) // 2)[:, None, None], (n // 2)[:, None, None]      # the middle one or two
    out[ys] = ((cdf > lo).argmax(2) + (cdf > hi).argmax(2)) / 2
    return out


def garment_end(colours: np.ndarray, start: int, stop: int, gap: int, persist: int = 0) -> int:
    """The first colour edge below ``start``: the row where the ``gap`` rows above and the
    ``gap`` rows below (``colours`` holds windowed medians) differ by more than ``GARMENT_DE``
    (CIE76), refined to the strongest row of that edge, and whose new colour lasts: at least
    80 % of the next ``persist`` rows stay away from the colour above it (a badge, a logo
    or a fold does not end a garment); ``stop`` when there is none.

    Comparing neighbouring windows, not a fixed reference, follows the slow
    shading gradient down a garment and still stops at a hem.
    """
    colours = np.asarray(colours, np.float64)
    step = np.zeros(len(colours))           # step[y]: CIE76 between rows y - gap and y; 0 where one is empty
    if len(colours) > gap:
        step[gap:] = np.nan_to_num(np.linalg.norm(colours[gap:] - colours[:-gap], axis=1), nan=0.0)
    y = start + gap
    while y < stop - gap:
        if step[y] > GARMENT_DE:
            y += int(np.argmax(step[y:min(stop - gap, y + gap)]))     # the strongest row of the edge
            above, below = colours[y - gap], colours[y:min(stop, y + persist)]
            below = below[~np.isnan(below).any(1)]
            far = np.nan_to_num(np.linalg.norm(below - above, axis=1), nan=0.0) > GARMENT_DE
            if len(far) == 0 or far.mean() >= 0.8:
                return y
            y += gap
        y += 1
    return stop


def person_regions(points: np.ndarray, mask: np.ndarray, rgb: np.ndarray) -> list[Detection]:
    """Detections from 33 pose landmarks ``[x, y, visibility, presence]``, the pose's person mask
    (H x W bool) and the image (H x W x 3 uint8).

    Garment boundaries follow colour: walking down the body's central band from
    the chest, the top ends where the row colour leaves the chest colour, the
    bottoms where it leaves theirs (pose hip landmarks misplace the waist on
    stylised figures and loose clothes).  Waist-up shots: the top runs to the
    person's bottom edge.
    """
    ys, xs = np.nonzero(mask)
    if len(ys) < 50 or not _visible(points, SHOULDERS):
        return []
    person = Box(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    out = [Detection(person, "person", _score(points, SHOULDERS + HIPS), SOURCE)]
    sx = np.sort(points[list(SHOULDERS), 0])
    shoulder_y, shoulder_w = float(points[list(SHOULDERS), 1].mean()), max(4.0, float(sx[1] - sx[0]))
    q = shoulder_w / 4      # the central half between the shoulders: no arms
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    gap = max(2, int(GARMENT_GAP * person.height))
    chest = int(shoulder_y + CHEST_BELOW * shoulder_w)
    colours = _row_colours(lab, mask, int(max(0, sx[0] + q)), int(min(mask.shape[1], sx[1] - q + 1)), gap,
                           max(0, chest))
    bottom = int(person.y2)
    if chest >= bottom - gap:
        return out
    hip_y = float(points[list(HIPS), 1].mean())
    hips = _visible(points, HIPS) and hip_y - shoulder_y >= TORSO_MIN * shoulder_w
    # hips out of frame or implausible (a waist-up shot): the top runs to the bottom edge
    top_end = garment_end(colours, chest, bottom, gap, int(MIN_LOWER * person.height)) if hips else bottom
    upper = _row_box(mask, shoulder_y - UPPER_ABOVE * shoulder_w, top_end)
    if upper is not None:
        out.append(Detection(upper, "upper_body", _score(points, SHOULDERS), SOURCE))
    lower_end = bottom
    if top_end < bottom - 2 * gap and hips:
        seg_start = lower_end = top_end
        while lower_end < bottom and lower_end - seg_start < MIN_LOWER * person.height:
            seg_start = lower_end   # a belt or waistband: the bottoms start after it
            lower_end = garment_end(colours, seg_start + gap, bottom, gap, gap)
        lower = _row_box(mask, top_end, lower_end)
        if lower is not None and lower.height >= MIN_LOWER * person.height:
            out.append(Detection(lower, "lower_body", _score(points, HIPS), SOURCE))
        else:
            lower_end = bottom
    feet = _feet(points, mask, person)
    if not feet and bottom - lower_end <= FEET_SHARE * person.height and lower_end < bottom - gap:
        feet = _feet_by_mask(mask, lower_end, bottom, _score(points, HIPS))
    return out + feet


def _feet_by_mask(mask: np.ndarray, top: int, bottom: int, score: float) -> list[Detection]:
    """Footwear from the mask's last colour segment (landmarks not visible): one box per blob."""
    part = mask[top:bottom].astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(part)
    return [Detection(Box(float(x), float(top + y), float(x + w), float(top + y + h)), "footwear",
                      score * FEET_BY_MASK, SOURCE)
            for x, y, w, h, area in stats[1:n] if area >= 0.2 * stats[1:n, 4].max()][:2]


def _feet(points: np.ndarray, mask: np.ndarray, person: Box) -> list[Detection]:
    """A footwear box per visible foot (heel, ankle and toe landmarks, padded)."""
    out = []
    for foot in FEET:
        if not _visible(points, foot):
            continue
        p = points[list(foot), :2]
        pad = FOOT_PAD * max(float(np.ptp(p, 0).max()), FOOT_MIN * person.height)
        x1, y1 = p.min(0) - pad
        x2, y2 = p.max(0) + pad
        if y1 < person.y2 and y2 > person.y1 + 0.7 * person.height:   # feet are at the bottom
            out.append(Detection(Box(float(x1), float(y1), float(x2), min(float(y2), person.y2 + pad)).clip(
                mask.shape[1], mask.shape[0]), "footwear", _score(points, foot), SOURCE))
    return out
