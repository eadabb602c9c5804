"""Body type per full-body person: one of 4 shape/size ranges, or "unknown" with a reason.

Used to diversify results (representation).  Lens never filters people by it
on its own; the one filter is the opt-in ``body_type_range`` a user asks for
(:mod:`blender.filters`, issue 5), to see people like themselves.  A
:class:`BodyType` holds a range, three silhouette width ratios, a confidence and
a person box: no landmarks, masks, crops or identity data are returned or kept.
Tested in ``tests/test_body_type.py``; evaluated per range by
:mod:`lens.evaluation.body_type` (``lens eval body-type``).

Ranges, on *clothed silhouette* widths / estimated height (``s`` shoulders, ``w``
waist, ``h`` hips), checked in this order:

* 4 ``full``: broad frame, ``s >= 0.325``;
* 3 ``curvy``: wide, defined hips, ``h >= 0.24`` and ``h - w >= 0.05``;
* 1 ``slim``: narrow, ``h < 0.23`` and ``s < 0.29``;
* 2 ``straight``: the rest (medium frame, waist close to the hips).

Boundaries: a grid search on synthetic full-body people (seeds 0 and 1, ~300)
maximising the *lowest* per-range recall; seed 2 is the held-out check.  The
silhouette includes sleeves and clothes: its shoulders are ~1.26 x the figures'
body shoulders (0.21 slim, 0.22 curvy, 0.23 straight, 0.27 full: 0.325 splits
0.34 from <= 0.29).  A dress or a flared skirt hides the hips (its own width is
measured): the main source of error, with arms fused to the torso.

Method (``H x W x 3`` uint8 RGB; over ``WORK_SIDE`` px reduced first):

1. Candidates: mediapipe's general selfie segmentation (letterboxed to 256 px),
   components (p > 0.5) of >= 1 % of the image and >= 30 % of its height; one
   wider than 0.9 x its height is split at its thinnest middle column (two
   people side by side).  Plus the person boxes the caller already has (the
   object detector's ``person`` class: :class:`lens.pipeline.facade.Lens` and the index
   pass them) that overlap no candidate by IoU > 0.5; the 3 largest are
   measured.  A candidate cut by the frame bottom whose top is below the top
   10 % (a head in frame: the waist-up portraits) abstains.
2. Pose by ROI: mediapipe pose (``pose_landmark_full``) on a square ROI of
   1.4 x the figure height (mediapipe's margin) centred on the figure; figure =
   box height, or / 0.75 when the box starts in the top 10 % (chin-cropped shots:
   chin-to-sole ~ 75 % of a figure); if no pose, a 1.7 margin and a 0.85 share
   (:func:`detection.pose.pose_by_roi` with ``retry``).  mediapipe's own
   detector needs a face and misses every chin-cropped shot.  No pose,
   landmarks that do not sit on the silhouette like a standing person's
   (``POSE_FIT``), or a silhouette that ends in one hem wider than 1.2 x its
   hips instead of feet (a garment on its own: ``_stands_on_feet``): not a
   person, dropped.
3. Lines on the pose's person mask (row widths of the run through the body axis):
   shoulder line = first row >= 60 % of the widest in the top quarter; soles =
   last row; ``D`` = shoulder-to-sole; height = ``D / 0.70`` (synthetic figures,
   0.69-0.72 measured, big heads; adults ~0.82, so real photos read ~15 % high).
   A hem cut by the frame: height from the neck width instead (``_height``).
   Shoulders = widest row at 3-8 % of ``D`` below the line (arms included, as in
   a shoulder breadth); waist = narrowest at 20-33 %; hips = mean of 37-41 %
   (adult tables: waist ~24 %, widest hips ~40 % of shoulder-to-sole).  Waist and
   hips skip neck-coloured pixels (bare arms: chroma within 8, L* -8..+30) with
   gaps under 2.5 % of the height closed.
4. Abstain: shoulders/hips visibility < 0.5, shoulders cut by the frame top,
   hips not in frame, implausible ratios.  Confidence = margin to the deciding
   boundary / 0.03 (clipped) x the lowest shoulder/hip visibility (halved when
   the height came from the neck).

Limitations: the selfie model alone misses ~25 % of headless synthetic
figures (generator 1.1: ~35 % at MST 1-3, ~10 % at MST 7, 8, 10; most get a
person probability near 0): the detector's person boxes find most of them
(synthetic Faster R-CNN: 94-97 % of full-body people).  A dress or a flared
skirt hides the hips: on synthetic people, recall is ~0.75 in trousers and
0.25-0.45 in a dress or skirt (``lens eval body-type`` reports it by garment).
Tried: pose on the whole frame when segmentation finds nobody (false body
types on product photos 1.5 % -> 4 %) and abstaining when the silhouette
flares below the hips (precision of ranges 1-3 +0.2, their recall -0.2 to
-0.3): neither adopted.  People who touch may merge (one pose per candidate);
sitting or lying people and knee-up shots are not measured.
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from detection.faces import FaceDetector
from detection.pose import (HEAD_CUT_TOP, SAME_PERSON, FaceCheck, PeopleGraphs, candidates, face_boxes,
                            given_boxes, has_head, person_candidates)
from lens.boxes import Box
from lens.imageio import MIN_SIDE, checked_rgb, is_uniform

RANGES = {1: "slim", 2: "straight", 3: "curvy", 4: "full"}
# Range boundaries on silhouette ratios (see the module docstring for how they were chosen).
FULL_SHOULDER, CURVY_HIP, CURVY_HIP_OVER_WAIST, SLIM_HIP, SLIM_SHOULDER = 0.325, 0.24, 0.05, 0.23, 0.29
CONFIDENCE_MARGIN = 0.03        # a margin this large (~1 within-range std) gives confidence 1
WORK_SIDE, MAX_PEOPLE = 1024, 3   # reduce over; people measured (under lens.imageio.MIN_SIDE: abstain)
EDGE_MARGIN = 2                 # px: a mask row this close to the frame edge touches it
MIN_VISIBILITY = 0.5            # mediapipe's own "visible" cut-off for a landmark
SHOULDER_TO_SOLE = 0.70         # shoulder line height / figure height (synthetic figures)
SHOULDER_JUMP = 0.6             # shoulder line: first row this wide vs. the widest of the top quarter
SHOULDER_BAND, WAIST_BAND, HIP_BAND = (0.03, 0.08), (0.20, 0.33), (0.37, 0.41)   # of D below it
SKIN_CHROMA, SKIN_DL, CLOSE_GAP = 8.0, (-8.0, 30.0), 0.025   # neck-like colour; gap to close
PLAUSIBLE = (0.08, 0.8)         # any silhouette ratio outside this is a measurement failure
SHOULDERS, HIPS, ANKLES = (11, 12), (23, 24), (27, 28)   # mediapipe pose landmark indices
# A standing person's landmarks vs. the silhouette, in shoulder-to-sole units D (2nd-98th
# percentiles on synthetic people: shoulders 0.01..0.08 below the shoulder line, hips 0.34..0.64,
# ankles -0.45..0.03 from the soles; neck width / shoulder width 0.24..0.40).  Real people sit
# lower and wider (CCP's 514 training-fold people with a pose, 1st-99th percentiles: shoulders
# 0.01..0.19, hips 0.30..0.52, ankles -0.21..-0.06, neck 0.28..0.49; hair on the shoulders
# widens the neck rows and lowers the line): bounds of 0.12 and 0.45 took 28 % of them for
# objects.  The neck bound is their 99th percentile; the shoulders' stays near the synthetic
# one, since 0.15 let 7 instead of 4 of 400 synthetic garment photos (seed 0) pass as people.
# Objects the selfie model takes for people (vases, garments on a plain background) fail it 3
# times in 4.
POSE_FIT = {"shoulders": 0.13, "hips": (0.30, 0.60), "ankles": (-0.30, 0.10), "neck": (0.20, 0.49)}
NOT_A_PERSON = "not a person (the pose does not fit the silhouette)"
# A candidate reaching the frame bottom whose person probability stays under this along the
# frame's top rows has its head in frame (a portrait: abstain without pose).  Chin-cropped
# synthetic figures run off the top at 0.25-0.5 where the selfie model sees their neck at all.
HEAD_IN_FRAME_PROB = 0.2
FEET_ROWS, FEET_MAX_WIDTH = 0.06, 1.2     # feet: the lowest 6 % of D; one run over 1.2 x the hips is a hem
CUT_BOTTOM = "torso not fully visible (cut by the frame bottom)"
# Soles cut: the mask's last row is the frame's and at least this share of the shoulder width
# (a hem; two shins are ~1/3).  Height then comes from the neck width: 0.076 x height on the
# synthetic figures (IQR 0.073-0.080; adults ~0.07), if the frame shows 0.5 D below the shoulders
# (the crotch is at 0.46 D) so the hip band is inside it; confidence is halved.
SOLES_CUT_WIDTH, NECK_TO_HEIGHT, HIPS_IN_FRAME, NECK_CONFIDENCE = 0.25, 0.076, 0.5, 0.5



@dataclass
class BodyType:
    """One person's body type; ranges and ratios are described in the module docstring."""

    status: str                        # "ok" | "unknown"
    reason: str = ""                   # "" when ok
    range: int | None = None           # 1..4
    name: str | None = None            # RANGES[range]
    shoulder_ratio: float | None = None    # silhouette width / estimated height
    waist_ratio: float | None = None
    hip_ratio: float | None = None
    confidence: float = 0.0            # 0..1
    person_box: list[float] | None = None  # [x1, y1, x2, y2] pixels of the input image

    def to_dict(self) -> dict:
        return asdict(self)


def _unknown(reason: str, box: Box | None = None, scale: float = 1.0) -> BodyType:
    return BodyType("unknown", reason, person_box=_box_list(box, scale))


def _box_list(box: Box | None, scale: float) -> list[float] | None:
    return None if box is None else Box(box.x1 / scale, box.y1 / scale, box.x2 / scale,
                                        box.y2 / scale).as_list()


class BodyTypeEstimator:
    """Selfie segmentation -> person candidates -> pose by ROI -> silhouette widths -> range.

    ``__call__(rgb)`` returns one :class:`BodyType` per person candidate, or
    ``[BodyType("unknown", "no person")]``: never an empty list, never raises
    on image content.  mediapipe is loaded on first use; calls are serialised.
    """

    def __init__(self, max_people: int = MAX_PEOPLE, graphs: PeopleGraphs | None = None):
        """``graphs``: mediapipe's, shared with the people detector (the model bundle's) so an
        image is segmented and posed once."""
        self.max_people = max_people
        self._people = graphs or PeopleGraphs()
        self._lock = self._people.lock    # mediapipe graphs are not re-entrant
        self._faces: FaceDetector | None = None     # built on the first call given no faces

    @classmethod
    def from_config(cls, config=None, models=None, graphs: PeopleGraphs | None = None) -> BodyTypeEstimator:
        """``models`` (a :class:`lens.models.ModelStore`) checks both bundled models are on disk."""
        if models is not None:
            models.resolve("pose_full")
            models.resolve("selfie_segmentation")
        return cls(int(getattr(config, "body_max_people", MAX_PEOPLE)), graphs)

    def __call__(self, image, people=None, faces=None) -> list[BodyType]:
        """Body types in ``image``; ``people``: person boxes already found on it (pixel
        x1, y1, x2, y2 as :class:`~lens.boxes.Box`, lists or detections with ``.box``),
        e.g. the object detector's ``person`` class, measured as candidates too; ``faces``:
        the face detections already made on it (None: found here)."""
        rgb, reason = checked_rgb(image)
        if rgb is None:
            return [_unknown(reason)]
        scale = min(1.0, WORK_SIDE / max(rgb.shape[:2]))
        if scale < 1.0:
            rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if is_uniform(rgb):                        # nothing to segment
            return [_unknown("no person")]
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # protobuf deprecation noise, per call
            prob = self._people.segment(rgb)
            given = given_boxes(people, scale)
            heads = face_boxes(self._own_faces(rgb) if faces is None else faces, 1.0 if faces is None else scale)
            found, check = [], self._people.face_check(rgb)
            for box, cut in candidates(person_candidates(prob, self.max_people), given, rgb.shape[0],
                                       self.max_people):
                confirmed = any(box.iou(g) > SAME_PERSON for g in given)    # a detector's person too
                found.append(self._one(rgb, box, cut, scale, confirmed,
                                       _torso_cut(prob, box, cut, confirmed), heads, check))
        kept = _dedupe([r for r in found if r is not None])     # largest candidate first
        return sorted(kept, key=lambda r: r.person_box[0] if r.person_box else 0.0) or [_unknown("no person")]

    def close(self) -> None:
        self._people.close()
        if self._faces is not None:
            self._faces.close()

    def _own_faces(self, rgb: np.ndarray) -> list:
        if self._faces is None:
            self._faces = FaceDetector()
        return self._faces(rgb)

    def _one(self, rgb: np.ndarray, box: Box, cut: bool, scale: float,
             retry: bool = False, torso_cut: bool = False, heads: list[Box] = (),
             check: FaceCheck | None = None) -> BodyType | None:
        """The body type of one candidate; None when no pose is found (not a person).

        ``cut``: cut by the frame bottom (:func:`detection.pose.candidates`);
        ``torso_cut`` (:func:`_torso_cut`): abstain before pose runs (~18 ms a
        ROI); ``retry`` (a detector called it a person too): more pose ROIs
        when the first finds none.  Segmentation's other candidates get one:
        most that fail are objects.  ``heads``: face boxes in ``rgb``'s pixels; without
        ``retry``, a pose with no head (:func:`detection.pose.has_head`, faces confirmed by ``check``)
        is not a person.
        """
        if torso_cut:
            return _unknown(CUT_BOTTOM, box, scale)
        found = self._people.pose(rgb, box, retry=retry)
        if found is not None and not retry and not has_head(found[0], box, rgb.shape[0], list(heads), check):
            return None
        m = NOT_A_PERSON if found is None else measure(found[1], found[0], rgb)
        if m == NOT_A_PERSON:
            return _unknown(CUT_BOTTOM, box, scale) if cut else None
        if isinstance(m, str):
            return _unknown(m, box, scale)
        rng, conf = classify(m["shoulder"], m["waist"], m["hip"])
        conf *= m["visibility"] * (NECK_CONFIDENCE if m["from_neck"] else 1.0)
        return BodyType("ok", "", rng, RANGES[rng], round(m["shoulder"], 4), round(m["waist"], 4),
                        round(m["hip"], 4), round(conf, 3), _box_list(m["box"], scale))


def _torso_cut(prob: np.ndarray, box: Box, cut: bool, given: bool) -> bool:
    """Is the candidate's torso cut by the frame bottom with its head in frame (a portrait)?

    ``cut`` (:func:`detection.pose.candidates`) and a top below ``HEAD_CUT_TOP``;
    or, unless ``given`` (a detector called it a person too: pose decides), a
    box reaching the frame bottom whose person probability stays under
    ``HEAD_IN_FRAME_PROB`` along the frame's top rows (the head is in frame:
    chin-cropped figures run off the top).  A full-body person whose soles
    touch the frame bottom exactly is taken for a portrait.
    """
    h = prob.shape[0]
    if cut and box.y1 > HEAD_CUT_TOP * h:
        return True
    if given or box.y2 < h - 1 - EDGE_MARGIN or box.y1 <= EDGE_MARGIN:
        return False
    x1, _, x2, _ = box.to_int()
    return float(prob[:EDGE_MARGIN + 1, max(0, x1):x2].max(initial=0.0)) < HEAD_IN_FRAME_PROB


def _dedupe(results: list[BodyType]) -> list[BodyType]:
    """Drop a result whose box overlaps an earlier one by IoU > ``SAME_PERSON`` (pose found the same person)."""
    kept: list[BodyType] = []
    for r in results:
        if r.person_box is None or all(k.person_box is None or Box(*k.person_box).iou(Box(*r.person_box))
                                       <= SAME_PERSON for k in kept):
            kept.append(r)
    return kept


def _runs(row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, ends)`` (end exclusive) of the True runs of a boolean row."""
    d = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def central_widths(rows: np.ndarray, cx: int) -> np.ndarray:
    """Per row of ``rows`` (R x W bool): the width of its mask run at (or nearest to, the leftmost
    on a tie) column ``cx``, 0 for an empty row; ``(R,)`` int.  One pass over the block, not a
    Python call a row (~10 ms a street photo's body)."""
    step = np.diff(np.pad(rows, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    run_row, starts = np.nonzero(step == 1)            # runs in row order, left to right:
    ends = np.nonzero(step == -1)[1]                   # each start pairs with the next end
    widths = np.zeros(len(rows), np.int64)
    if not len(starts):
        return widths
    distance = np.maximum(starts - cx, cx - ends + 1).clip(0)
    order = np.lexsort((np.arange(len(starts)), distance, run_row))   # per row: nearest, then leftmost
    first = order[np.r_[True, run_row[order][1:] != run_row[order][:-1]]]
    widths[run_row[first]] = ends[first] - starts[first]
    return widths


def _stands_on_feet(body: np.ndarray, bottom: int, d: float, hip_px: float) -> bool:
    """Do the silhouette's lowest rows look like feet: two runs, or one narrower than the hips?

    A garment alone (a dress or trousers laid flat or hung) ends in one hem
    at least as wide as its hips; a standing person ends in two feet, or in
    feet together narrower than the hips (``FEET_MAX_WIDTH``).
    """
    rows = body[max(0, bottom - int(FEET_ROWS * d)):bottom + 1]
    counts, widths = [], []
    for row in rows:
        starts, ends = _runs(row)
        runs = (ends - starts)[(ends - starts) >= 3]
        counts.append(len(runs))
        widths.append(int(runs.max()) if len(runs) else 0)
    return bool(np.median(counts) >= 2 or np.median(widths) <= FEET_MAX_WIDTH * hip_px)


def _without_skin(rgb: np.ndarray, body: np.ndarray, top: int, shoulder_y: int, gap: int) -> np.ndarray:
    """The body mask (rows below the shoulder line) minus neck-coloured pixels: bare arms and legs."""
    neck_rows = body[top:shoulder_y]
    xs = np.flatnonzero(neck_rows.any(0))
    if neck_rows.sum() < 30:
        return body
    c, third = (xs[0] + xs[-1]) // 2, max(1, (xs[-1] - xs[0]) // 6)
    lab = cv2.cvtColor(rgb[top:], cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100 / 255                      # OpenCV 8-bit Lab: L * 255 / 100, a + 128, b + 128
    core = neck_rows[:, c - third:c + third + 1]
    sample = lab[:shoulder_y - top, c - third:c + third + 1][core] if core.sum() >= 30 else lab[:shoulder_y - top][neck_rows]
    d = lab - np.median(sample, axis=0)
    skin = (np.hypot(d[..., 1], d[..., 2]) <= SKIN_CHROMA) & (d[..., 0] >= SKIN_DL[0]) & (d[..., 0] <= SKIN_DL[1])
    out = body.copy()
    out[top:] &= ~skin
    out[:shoulder_y] = body[:shoulder_y]
    out = cv2.morphologyEx(out.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (gap, max(3, gap // 2)))
    return cv2.morphologyEx(out, cv2.MORPH_CLOSE, kernel).astype(bool) & body


def _body(mask: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    """The pose mask's component under the mid-hip landmark (else its largest), or None."""
    h, w = mask.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    if n < 2:
        return None
    hx, hy = points[list(HIPS), :2].mean(0).round().astype(int).clip(0, [w - 1, h - 1])
    return labels == (labels[hy, hx] or 1 + int(stats[1:, 4].argmax()))


def _pose_fits(points: np.ndarray, upper: np.ndarray, neck_rows: int, shoulder_y: int, d: float,
               soles: int | None) -> bool:
    """Do the landmarks sit on the silhouette's lines like a standing person's (``POSE_FIT``)?"""
    shoulders, hips = ((points[list(ids), 1].mean() - shoulder_y) / d for ids in (SHOULDERS, HIPS))
    ankles = 0.0 if soles is None else (points[list(ANKLES), 1].mean() - soles) / d
    neck = upper[:neck_rows].mean() / upper.max() if neck_rows > 0 else 0.0
    return (abs(shoulders) <= POSE_FIT["shoulders"] and POSE_FIT["hips"][0] <= hips <= POSE_FIT["hips"][1]
            and POSE_FIT["ankles"][0] <= ankles <= POSE_FIT["ankles"][1]
            and POSE_FIT["neck"][0] <= neck <= POSE_FIT["neck"][1])


def _height(upper: np.ndarray, top: int, shoulder_y: int, bottom: int, frame_h: int,
            last_row: int) -> tuple[float, bool] | str:
    """``(height px, from the neck)``: from the soles, or the neck width when the hem runs off the frame."""
    if bottom < frame_h - 1 - EDGE_MARGIN or last_row < SOLES_CUT_WIDTH * upper.max():
        return (bottom - shoulder_y) / SHOULDER_TO_SOLE, False
    neck_rows = shoulder_y - top
    if top > EDGE_MARGIN or neck_rows < 4:          # head in frame (a portrait) or no neck to measure
        return CUT_BOTTOM
    height = float(np.median(upper[1:neck_rows - 1])) / NECK_TO_HEIGHT
    if shoulder_y + HIPS_IN_FRAME * SHOULDER_TO_SOLE * height > bottom:
        return CUT_BOTTOM
    return height, True


def measure(mask: np.ndarray, points: np.ndarray, rgb: np.ndarray | None = None) -> dict | str:
    """Silhouette widths / estimated height (module docstring, step 5), or the reason to abstain.

    ``mask`` H x W bool (the pose's person mask), ``points`` 33 x 4 pose
    landmarks in pixels, ``rgb`` the image (for bare-skin removal; optional).
    Returns ``{"shoulder", "waist", "hip", "height" px, "from_neck", "visibility", "box"}``.
    """
    visibility = float(points[[*SHOULDERS, *HIPS], 2].min())
    if visibility < MIN_VISIBILITY:
        return "pose not confident (shoulders or hips hidden)"
    body = _body(mask, points)
    if body is None:
        return "no person"
    ys = np.flatnonzero(body.any(1))
    top, bottom = int(ys[0]), int(ys[-1])
    cx = int(np.median(np.nonzero(body[top:bottom + 1])[1]))
    upper = central_widths(body[top:top + max(1, (bottom - top) // 4)], cx)
    shoulder_y = top + int(np.flatnonzero(upper >= SHOULDER_JUMP * upper.max())[0])
    if shoulder_y <= top + EDGE_MARGIN and top <= EDGE_MARGIN:
        return "shoulders not visible (cut by the frame top)"
    found = _height(upper, top, shoulder_y, bottom, body.shape[0], int(body[bottom].sum()))
    if isinstance(found, str):
        return found
    height, from_neck = found
    d = height * SHOULDER_TO_SOLE
    if d < MIN_SIDE:
        return "silhouette implausible (segmentation failed)"
    if not _pose_fits(points, upper, shoulder_y - top, shoulder_y, d, None if from_neck else bottom):
        return NOT_A_PERSON
    clothed = body if rgb is None else _without_skin(rgb, body, top, shoulder_y, max(5, round(CLOSE_GAP * height)))

    def band(lo_hi, reduce, mask_):
        a, b = (shoulder_y + int(f * d) for f in lo_hi)
        return float(reduce(central_widths(mask_[a:b + 1], cx))) / height

    out = {"shoulder": band(SHOULDER_BAND, np.max, body), "waist": band(WAIST_BAND, np.min, clothed),
           "hip": band(HIP_BAND, np.mean, clothed)}
    if min(out["waist"], out["hip"]) < PLAUSIBLE[0]:     # skin-coloured clothes: keep the arms instead
        out.update(waist=band(WAIST_BAND, np.min, body), hip=band(HIP_BAND, np.mean, body))
    if not all(PLAUSIBLE[0] <= v <= PLAUSIBLE[1] for v in out.values()):
        return "silhouette implausible (segmentation failed)"
    if not from_neck and not _stands_on_feet(body, bottom, d, out["hip"] * height):
        return NOT_A_PERSON
    xs = np.flatnonzero(body.any(0))
    return {**out, "height": height, "from_neck": from_neck, "visibility": visibility,
            "box": Box(float(xs[0]), float(top), float(xs[-1] + 1), float(bottom + 1))}


def classify(shoulder: float, waist: float, hip: float) -> tuple[int, float]:
    """``(range 1..4, confidence 0..1)`` from silhouette ratios (module docstring).

    Confidence is the smallest margin to a boundary that decided the range,
    divided by ``CONFIDENCE_MARGIN`` and clipped to 1.
    """
    if shoulder >= FULL_SHOULDER:
        return 4, min(1.0, (shoulder - FULL_SHOULDER) / CONFIDENCE_MARGIN)
    margins = [FULL_SHOULDER - shoulder]
    curvy = [hip - CURVY_HIP, hip - waist - CURVY_HIP_OVER_WAIST]
    if min(curvy) >= 0:
        return 3, min(1.0, min(margins + curvy) / CONFIDENCE_MARGIN)
    margins.append(-min(curvy))
    slim = [SLIM_HIP - hip, SLIM_SHOULDER - shoulder]
    if min(slim) > 0:
        return 1, min(1.0, min(margins + slim) / CONFIDENCE_MARGIN)
    return 2, min(1.0, min(margins + [-min(slim)]) / CONFIDENCE_MARGIN)
