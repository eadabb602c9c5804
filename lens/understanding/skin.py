"""Skin tone per face: nearest Monk Skin Tone (MST 1-10), ITA and one of 4 ranges, or "unknown".

:class:`SkinToneEstimator` maps an ``H x W x 3`` uint8 RGB image to one
:class:`SkinTone` per face.  No identity data is computed
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
   lips, nostrils or hair.  A face that is not a face gives no skin tone:
   BlazeFace fires on tomatoes, peaches and carton prints (a "face" on 37 of
   600 Grocery photos, 5 of 400 clothing photos), so a face is reported only
   when the face mesh finds one in its box ("face not confirmed by the face
   mesh"), the person segmentation covers its box (mean probability >=
   ``FACE_PERSON`` 0.3: "no person around the face") and the box's height
   under it (>= ``FACE_NECK`` 0.5: "no body under the face"; a carton held
   in a hand is segmented as a person, but a print on it has no neck) and its normalised
   colour lies within ``FACE_LOCUS_DE`` 22 (CIE76) of the MST locus ("not
   skin-coloured: not a face"; not judged when half its pixels are clipped in
   a channel: bright light turns MST 1-2 faces pink, 29-49 from the locus).  On 300 CCP street photos 299 keep a face
   (real faces: locus distance median 10, max 20.4; person probability over
   the box 1st percentile 0.40, under it 0.55).
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
   With a network (``understanding.skin_tone_net``; ``configs/default.yaml``), a face that got
   a tone here gets its MST, range and confidence from :mod:`lens.understanding.skin_net` on its
   crop instead (``method`` ``face_net``), abstaining under ``skin_net.MIN_CONFIDENCE``: on
   held-out re-toned CCP faces it beats this step in every range.
7. No face: ``SkinTone("unknown", "no face")``.  A segmented person whose
   head crop shows no face gets no skin tone: reading one from the body's
   skin-coloured pixels gave a range to 17 % of people-free photos (garments
   on a bed read as MST 9-10, hands holding cartons) and to none of 300 CCP
   street photos that the face path had not already measured.
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
    person_probability,
)
from lens.understanding.skin_light import (
    CLIP_LEVEL,
    LINEAR,
    illuminant,
    linear_to_srgb,
    resize,
)
from lens.understanding.skin_net import MIN_CONFIDENCE as NET_MIN_CONFIDENCE
from lens.understanding.skin_net import SkinToneModel

if TYPE_CHECKING:
    from lens.config import UnderstandingConfig
    from lens.models import ModelStore

log = logging.getLogger(__name__)
MAX_PIXELS = 50_000_000     # the bad-input bound (and lens.imageio.MIN_SIDE, 32 px)
WORK_SIDE = 1024            # detectors see <= 192-256 px anyway; bounds the cost of huge inputs
SEG_SIDE = 256              # selfie segmentation input (landscape model: 144 x 256)
MIN_SKIN_PIXELS = 40        # fewer: the median is noise ("too few skin pixels")
SHADING_OFFSET = 4.5        # L*: cheeks/forehead vs whole-face mean, step 5
MAX_CLIPPED = 0.9           # share of skin clipped in 2+ channels: "face overexposed"
MIN_SKIN_SRGB = 0.03        # skin median darker than this: "face too dark"
FACE_PERSON = 0.3           # mean person probability over a face box (real faces: 1st pct 0.40)
FACE_NECK = 0.5             # ... over as much again under the box: a head sits on a body (real: 1st pct 0.55)
COLOUR_CLIPPED = 0.5        # ... unless this share of its pixels is clipped: an overexposed face's chroma is not its own
FACE_LOCUS_DE = 22.0        # CIE76 of a face's normalised colour to the MST locus (real faces <= 20.4)
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
    method: str = "none"                  # face_mesh (pixels) | face_net | face_keypoints (abstains) | none
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


def tone(lab: np.ndarray, pixels: int, box: Box | None, method: str) -> SkinTone:
    """The :class:`SkinTone` of a normalised skin colour (nearest MST by CIEDE2000)."""
    d = deltaE_ciede2000(np.repeat(lab[None], 10, 0), MST_LAB)
    first, second = np.argsort(d)[:2]
    conf = (d[second] - d[first]) / max(d[second], 1e-6) * min(1.0, pixels / 300)
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

    ``find_missed_faces`` (default True) runs step 2's head-crop search for
    faces the detector missed (~7 ms per uncovered person); without it, a
    missed face is simply missed.  The segmentation itself always runs (~3 ms):
    step 3 checks every face against it.
    """

    def __init__(self, find_missed_faces: bool = True, net: SkinToneModel | None = None):
        self.find_missed_faces = find_missed_faces
        self.net = net          # step 6 by the network on the face crop (lens.understanding.skin_net)

    @classmethod
    def from_config(cls, config: UnderstandingConfig | None = None,
                    models: ModelStore | None = None) -> SkinToneEstimator:
        """From ``UnderstandingConfig`` (``skin_tone_net``: a checkpoint path, "" for the pixels'
        colour alone); checks the mediapipe models are installed."""
        if models is not None:
            for name in ("face_detection_full", "face_detection_short", "face_mesh",
                         "selfie_segmentation_landscape"):
                models.resolve(name)
        path = getattr(config, "skin_tone_net", "") if config is not None else ""
        try:
            cache = models.config.root if models is not None else ""      # where its onnxruntime graph goes
            return cls(net=SkinToneModel.load(path, cache) if path else None)
        except ValueError as exc:
            raise ValueError(f"understanding.skin_tone_net: {exc}") from exc

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
        mask = person_probability(thumb)
        for person in people_without_faces(work, mask, dets) if self.find_missed_faces else []:
            dets += head_faces(work, person)
        measured = [face_pixels(work, d) for d in dets]
        skins = [np.median(rgb2lab(px[None])[0], 0) for px, _ in measured if len(px)]
        gains = illuminant(work, thumb, [d.box for d in dets], skins)
        gains, reason = (gains, "") if gains.any() else (None, "extreme lighting: too dark")
        out = [self._face(d, px, method, gains, reason, s, _support(mask, d.box, work.shape))
               for d, (px, method) in zip(dets, measured)]
        if self.net is not None:
            ok = [i for i, t in enumerate(out) if t.status == "ok"]
            answers = self.net(work, [Box(*out[i].face_box).scale(s) for i in ok])    # one forward
            for i, answer in zip(ok, answers):
                out[i] = self._by_net(out[i], *answer)
        return out or [unknown(reason or "no face")]

    @staticmethod
    def _by_net(t: SkinTone, mst: int, confidence: float) -> SkinTone:
        """A confirmed face's MST, range and confidence from the network on its crop (the measured
        colour stays in ``lab``/``ita``); abstains when its range probability is under
        ``skin_net.MIN_CONFIDENCE``."""
        if confidence < NET_MIN_CONFIDENCE:
            return unknown("not sure of the range", Box(*t.face_box), "face_net")
        return SkinTone("ok", "", mst, mst_range(mst), t.ita, t.lab, round(confidence, 3), t.face_box,
                        "face_net", t.pixels)

    @staticmethod
    def _face(det, pixels, method, gains, reason, s, support: tuple[float, float]) -> SkinTone:
        """One face's tone, or why it abstains (step 3's checks; ``support``: the mean person
        probability over its box and over the box's height below it)."""
        box = _scaled(det, 1 / s).box
        if method != "face_mesh":
            return unknown("face not confirmed by the face mesh", box, method)
        if support[0] < FACE_PERSON:
            return unknown("no person around the face", box, method)
        if support[1] < FACE_NECK:
            return unknown("no body under the face", box, method)
        lab, reason = skin_colour(pixels, gains) if gains is not None else (None, reason)
        measurable = (pixels >= CLIP_LEVEL).any(1).mean() < COLOUR_CLIPPED if len(pixels) else False
        if lab is not None and measurable and locus_distance(lab[None])[0] > FACE_LOCUS_DE:
            return unknown("not skin-coloured: not a face", box, method)
        return tone(lab, len(pixels), box, method) if lab is not None else unknown(reason, box, method)


def _support(mask: np.ndarray, box: Box, shape: tuple) -> tuple[float, float]:
    """Mean person probability of ``mask`` (a thumbnail's) over ``box`` (pixels of ``shape``) and
    over as much again under it (a neck and shoulders)."""
    s = mask.shape[1] / shape[1]
    scaled = Box(box.x1 * s, box.y1 * s, box.x2 * s, box.y2 * s)
    under = Box(scaled.x1, scaled.y2, scaled.x2, scaled.y2 + scaled.height)

    def mean(b: Box) -> float:
        x1, y1, x2, y2 = b.clip(mask.shape[1], mask.shape[0]).to_int()
        part = mask[y1:max(y1 + 1, y2), x1:max(x1 + 1, x2)]
        return float(part.mean()) if part.size else 0.0
    return mean(scaled), mean(under)
