"""Skin tone per face: nearest Monk Skin Tone (MST 1-10), ITA and one of 4 ranges, or "unknown".

:class:`SkinToneEstimator` maps an ``H x W x 3`` uint8 RGB image to one
:class:`SkinTone` per face (or faceless person).  No identity data is computed
or kept: a result is a colour, a box and a reason, never landmarks, crops or
embeddings.  Tested in ``tests/test_skin_tone.py``; evaluated per range by
:mod:`lens.evaluation.skin_tone`, where every threshold below was chosen on
the per-range figures (re-toned photos x lightings, synthetic people).

1. Input (:func:`lens.imageio.checked_rgb`): grey, 4-channel, 16-bit and
   float arrays are converted; sides < 32 px or > 50 MP abstain; work on a <= 1024-px copy.
   Uniform (grey std < 2) and grayscale images (< 0.5 % of pixels with a
   channel spread > 12) abstain.
2. Faces (:mod:`lens.understanding.skin_faces`, as is step 3): full-range
   BlazeFace (its graph reports nothing under ~0.6, so ``FACE_MIN_SCORE``
   0.5 keeps all it finds), or the ``faces`` passed in.
   Selfie segmentation then finds people no face centre falls in; their head
   crop (the person box's top square) is searched with the short-range model,
   then the full-range one.  The crop makes a small face 2-3x larger: this
   found the MST 8-10 faces the whole-image pass missed.
3. Skin: face mesh on the face box padded 50 % (gamma-lifted to median grey
   0.5, for the mesh only); cheek and forehead polygons, so no eyes, brows,
   lips, nostrils or hair.  No mesh: eye/mouth keypoint discs, if the
   detector scored >= 0.75 (else "face not confirmed by the face mesh").
4. Lighting (:mod:`lens.understanding.skin_light`, von Kries in linear RGB,
   face boxes padded 25 % excluded): exposure gain ``clip(0.85 / peak, 1, 4)``
   where ``peak`` is the brightest channel at the 99.7th percentile (how far
   the highlights reach; brighten only); cast = mean of the least corrected
   half of 3 x 3 grid cells' whites (whitest 2 %, unclipped, not skin-coloured,
   gains within 0.7..1.6).
   Abstain on extreme lighting: white (whitest 1 %) darker than linear 0.08 (sRGB ~0.3),
   skin median under sRGB 0.03, or >= 90 % of skin pixels clipped in 2+
   channels.  Under 40 skin pixels: "too few skin pixels".
5. Colour: L* = median of the normalised skin minus ``SHADING_OFFSET`` 4.5
   (cheeks and forehead face the light: 4.2-6.0 L* above the whole-face mean
   that MST swatches describe, on the re-toned astronaut at neutral light);
   a*, b* = medians of unclipped pixels (no channel >= 250) when >= 20 exist,
   since clipping drains chroma.
6. MST = nearest swatch by CIEDE2000; ITA = atan2(L* - 50, b*) * 180 / pi,
   reported but not used (unstable near b* = 0 for the darkest tones); range
   = :func:`lens.palette.mst_range` (1-3 -> 1, 4-5 -> 2, 6-7 -> 3, 8-10 -> 4);
   confidence = (d2 - d1) / d2 of the two nearest swatches x min(1, pixels / 300).
7. End to end, for a segmented person whose head crop shows no face (e.g.
   framed from the chin down): :func:`body_pixels`; ``method``
   ``"segmentation"``, confidence halved, no face box.  No face and no such
   person: ``SkinTone("unknown", "no face")``.
"""
from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

from lens.boxes import Box
from lens.imageio import checked_rgb, is_uniform
from lens.palette import MST_HEX, hex_to_rgb, mst_range
from lens.types import Detection
from lens.understanding.skin_faces import (
    detect_faces,
    face_pixels,
    head_faces,
    people_without_faces,
)
from lens.understanding.skin_light import (
    CLIP_LEVEL,
    LINEAR,
    illuminant,
    linear_to_srgb,
    resize,
)

if TYPE_CHECKING:
    from lens.config import UnderstandingConfig
    from lens.models import ModelStore

log = logging.getLogger(__name__)
MAX_PIXELS = 50_000_000     # the bad-input bound (and lens.imageio.MIN_SIDE, 32 px)
WORK_SIDE = 1024            # detectors see <= 192-256 px anyway; bounds the cost of huge inputs
KEYPOINTS_MIN_SCORE = 0.75  # a face the mesh cannot confirm needs a confident detector
SEG_SIDE = 256              # selfie segmentation input (landscape model: 144 x 256)
MIN_SKIN_PIXELS = 40        # fewer: the median is noise ("too few skin pixels")
SHADING_OFFSET = 4.5        # L*: cheeks/forehead vs whole-face mean, step 5
MAX_CLIPPED = 0.9           # share of skin clipped in 2+ channels: "face overexposed"
MIN_SKIN_SRGB = 0.03        # skin median darker than this: "face too dark"
BODY_SIDE = 128             # the body path works on a 128-px copy (~5 ms)
BODY_MIN_SHARE = 0.05       # faceless person must cover 5 % of the image (probability > 0.9)
LOCUS_DE = 6.0              # body skin: CIE76 to the MST polyline after normalisation
BODY_COLOUR_DE = 12.0       # ... and to the median of those pixels
BODY_PART_SHARE = 0.001     # ... in >= 2 parts this large (neck, arms, legs: not one garment)
MST_LAB = rgb2lab(np.array([[hex_to_rgb(h) for h in MST_HEX]], np.float64) / 255.0)[0]


@dataclass
class SkinTone:
    """One face's skin tone; ``lab`` is the lighting-normalised CIELAB (D65) colour."""

    status: str = "unknown"               # "ok" | "unknown"
    reason: str = ""                      # why unknown; "" when ok
    mst: int | None = None                # Monk Skin Tone 1..10
    range: int | None = None              # skin tone range 1..4 (lens.palette.MST_RANGES)
    ita: float | None = None              # Individual Typology Angle, degrees
    lab: list[float] | None = None
    confidence: float = 0.0               # 0..1
    face_box: list[float] | None = None   # x1, y1, x2, y2 in input pixels (lens.boxes)
    method: str = "none"                  # "face_mesh" | "face_keypoints" | "segmentation" | "none"
    pixels: int = 0                       # skin pixels measured

    def to_dict(self) -> dict:
        return asdict(self)


def unknown(reason: str, box: Box | None = None, method: str = "none") -> SkinTone:
    return SkinTone(reason=reason, face_box=box.as_list() if box else None, method=method)



def image_check(rgb: np.ndarray) -> str:
    """A whole-image reason to abstain, or ""."""
    if is_uniform(rgb):
        return "uniform image: nothing to measure"
    small = cv2.resize(rgb, (64, 64), interpolation=cv2.INTER_AREA).astype(np.int16)
    if ((small.max(2) - small.min(2)) > 12).mean() < 0.005:
        return "grayscale image: no colour to measure"
    return ""



def skin_colour(pixels: np.ndarray, gains: np.ndarray) -> tuple[np.ndarray | None, str]:
    """Normalised skin CIELAB (3,) from N x 3 uint8 skin pixels, or (None, reason)."""
    if len(pixels) < MIN_SKIN_PIXELS:
        return None, f"too few skin pixels ({len(pixels)} < {MIN_SKIN_PIXELS})"
    if np.median(pixels.max(1)) / 255.0 < MIN_SKIN_SRGB:
        return None, "extreme lighting: face too dark"
    clipped = (pixels >= CLIP_LEVEL).sum(1)
    if (clipped >= 2).mean() >= MAX_CLIPPED:
        return None, "extreme lighting: face overexposed"
    lab = rgb2lab(linear_to_srgb(LINEAR[pixels] * gains)[None])[0]
    out = np.median(lab, 0)
    if (clipped == 0).sum() >= 20:
        out[1:] = np.median(lab[clipped == 0, 1:], 0)
    out[0] = max(0.0, out[0] - SHADING_OFFSET)
    return out, ""


def locus_distance(lab: np.ndarray) -> np.ndarray:
    """CIE76 distance (N,) of N x 3 CIELAB colours to the MST locus (the polyline MST-1 .. MST-10)."""
    a, ab = MST_LAB[None, :-1], np.diff(MST_LAB, axis=0)[None]
    t = np.clip(((lab[:, None] - a) * ab).sum(2) / (ab * ab).sum(2), 0.0, 1.0)
    return np.linalg.norm(lab[:, None] - (a + t[..., None] * ab), axis=2).min(1)


def body_pixels(rgb: np.ndarray, thumb: np.ndarray, mask: np.ndarray, person: Box,
                gains: np.ndarray) -> np.ndarray:
    """Skin pixels (N x 3 uint8) of one segmented person without a face (step 7), or none.

    Person pixels (probability > 0.9, >= 5 % of the image) within 6 CIE76 of
    the MST locus after normalisation, then within 12 of their median colour;
    they must form >= 2 separate parts of >= 0.1 % of the image (neck, arms,
    legs: a skin-coloured garment is one part).
    """
    small = resize(thumb, BODY_SIDE)
    s = small.shape[1] / rgb.shape[1]
    mask = cv2.resize(mask, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    x1, y1, x2, y2 = Box(person.x1 * s, person.y1 * s, person.x2 * s, person.y2 * s).to_int()
    body = np.zeros(mask.shape, bool)
    body[y1:y2, x1:x2] = mask[y1:y2, x1:x2] > 0.9
    if body.mean() < BODY_MIN_SHARE:
        return np.zeros((0, 3), np.uint8)
    lab = np.full(small.shape, 1e3, np.float32)
    srgb = linear_to_srgb(LINEAR[small[body]] * gains).astype(np.float32)
    lab[body] = cv2.cvtColor(srgb[None], cv2.COLOR_RGB2LAB)[0] - (SHADING_OFFSET, 0, 0)
    skin = body.copy()
    skin[body] = locus_distance(lab[body]) <= LOCUS_DE
    if skin.sum() < MIN_SKIN_PIXELS:
        return np.zeros((0, 3), np.uint8)
    skin &= np.linalg.norm(lab - np.median(lab[skin], 0), axis=2) <= BODY_COLOUR_DE
    n, labels, stats, _ = cv2.connectedComponentsWithStats(skin.astype(np.uint8))
    parts = [i for i in range(1, n) if stats[i, 4] >= BODY_PART_SHARE * skin.size]
    return small[np.isin(labels, parts)] if len(parts) >= 2 else np.zeros((0, 3), np.uint8)


def tone(lab: np.ndarray, pixels: int, box: Box | None, method: str, weight: float = 1.0) -> SkinTone:
    """The :class:`SkinTone` of a normalised skin colour (nearest MST by CIEDE2000)."""
    d = deltaE_ciede2000(np.repeat(lab[None], 10, 0), MST_LAB)
    first, second = np.argsort(d)[:2]
    conf = weight * (d[second] - d[first]) / max(d[second], 1e-6) * min(1.0, pixels / 300)
    return SkinTone("ok", "", int(first) + 1, mst_range(int(first) + 1),
                    round(math.degrees(math.atan2(lab[0] - 50.0, lab[2])), 2),
                    [round(float(v), 2) for v in lab], round(float(conf), 3),
                    box.as_list() if box else None, method, int(pixels))


def _scaled(det: Detection, s: float) -> Detection:
    b = det.box
    return Detection(Box(b.x1 * s, b.y1 * s, b.x2 * s, b.y2 * s), det.label, det.score, det.source,
                     {k: (x * s, y * s) for k, (x, y) in det.keypoints.items()})


class SkinToneEstimator:
    """Skin tone per face of an image; see the module docstring for the method and thresholds.

    ``find_missed_faces`` (default True) runs step 2's segmentation search for
    faces the detector missed and step 7's end-to-end path (~4 ms, plus ~7 ms
    per uncovered person); without it, a missed face is simply missed.
    """

    def __init__(self, find_missed_faces: bool = True):
        self.find_missed_faces = find_missed_faces

    @classmethod
    def from_config(cls, config: UnderstandingConfig | None = None,
                    models: ModelStore | None = None) -> SkinToneEstimator:
        """From ``UnderstandingConfig`` (no keys read yet); checks the mediapipe models are installed."""
        if models is not None:
            for name in ("face_detection_full", "face_detection_short", "face_mesh",
                         "selfie_segmentation_landscape"):
                models.resolve(name)
        return cls()

    def __call__(self, image: np.ndarray, faces: list[Detection] | None = None) -> list[SkinTone]:
        """One :class:`SkinTone` per face of ``image`` (H x W x 3 uint8 RGB); never raises on bad input.

        ``faces``: face detections in input pixels (label ``face``); None detects them here.
        """
        rgb, reason = checked_rgb(image, MAX_PIXELS)
        reason = reason or image_check(rgb)
        if reason:
            return [unknown(reason)]
        try:
            return self._estimate(rgb, faces)
        except Exception as exc:          # a query must get an answer, never a traceback
            log.exception("skin tone failed")
            return [unknown(f"error: {type(exc).__name__}")]

    def _estimate(self, rgb: np.ndarray, faces: list[Detection] | None) -> list[SkinTone]:
        work = resize(rgb, WORK_SIDE)
        s = work.shape[1] / rgb.shape[1]
        dets = detect_faces(work) if faces is None else [_scaled(d, s) for d in faces if d.label == "face"]
        thumb = resize(work, SEG_SIDE)
        people, mask = people_without_faces(work, thumb, dets) if self.find_missed_faces else ([], None)
        bodies = []
        for person in people:
            found = head_faces(work, person)
            dets += found
            bodies += [] if found else [person]
        measured = [face_pixels(work, d) for d in dets]
        skins = [np.median(rgb2lab(px[None])[0], 0) for px, _ in measured if len(px)]
        gains = illuminant(work, thumb, [d.box for d in dets], skins)
        gains, reason = (gains, "") if gains.any() else (None, "extreme lighting: too dark")
        out = [self._face(d, px, method, gains, reason, s) for d, (px, method) in zip(dets, measured)]
        for person in bodies if gains is not None else []:
            pixels = body_pixels(work, thumb, mask, person, gains)
            lab, _ = skin_colour(pixels, gains)
            if lab is not None:
                out.append(tone(lab, len(pixels), None, "segmentation", weight=0.5))
        return out or [unknown(reason or "no face")]

    @staticmethod
    def _face(det, pixels, method, gains, reason, s) -> SkinTone:
        box = _scaled(det, 1 / s).box
        if method == "face_keypoints" and det.score < KEYPOINTS_MIN_SCORE:
            return unknown("face not confirmed by the face mesh", box, method)
        lab, reason = skin_colour(pixels, gains) if gains is not None else (None, reason)
        return tone(lab, len(pixels), box, method) if lab is not None else unknown(reason, box, method)
