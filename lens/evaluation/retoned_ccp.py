"""Real faces with a known Monk value: CCP people re-toned to every MST (issue 20.1).

Recipe, per CCP masked photo (one person, face visible) under a data root:

1. The face: BlazeFace's largest face (:func:`lens.understanding.skin_faces.detect_faces`) holding
   at least ``MIN_FACE_SKIN`` of CCP's ``skin`` pixels (its box is the true face box); photos
   without one are left out and counted.
2. The skin: every pixel CCP labels ``skin`` (face, neck, arms, legs), feathered (Gaussian
   ``FEATHER`` px), so eyes, lips, hair, glasses, clothes and background keep their colours.
3. Re-toned to MST 1..10 with :func:`lens.evaluation.skin_tone.retone` (CIELAB lightness scaled
   around the face skin's mean, a*/b* shifted onto the MST colour, shading kept), the mean taken
   over the face box's skin pixels.
4. Under each of ``LIGHTS``: ``none`` (the photo's own light), ``dim``, ``warm`` and ``cool``
   (:func:`lens.synth.perturb.apply_lighting` at full strength) and ``mixed`` (warm from the
   left fading into cool on the right, dimmed by 15 %: two light sources).

The split is by photo, as ``lens data ccp`` splits it (number % 5 == 0 is validation); CCP
shows one person a photo.  Samples are made on the fly (``(rgb, true MST, info)``, as
:func:`lens.evaluation.skin_tone.skin_tone_figures` takes them); nothing is written, so no face
of a person persists anywhere.

Tested in ``tests/test_real_skin_tone.py``.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from lens.boxes import Box
from lens.console import progress as progress_bar
from lens.datasets.ccp import read_labels, read_mask
from lens.datasets.common import Skipped
from lens.evaluation.real_body_type import ccp_photos
from lens.evaluation.skin_tone import retone
from lens.imageio import load_image
from lens.synth.perturb import apply_lighting

log = logging.getLogger(__name__)
LIGHTS = ("none", "dim", "warm", "cool", "mixed")
MIN_FACE_SKIN = 40       # px of CCP skin inside the face box (the estimator's own minimum)
FEATHER = 1.0            # px: the skin weight's Gaussian edge (CCP masks follow edges to a pixel)
MIXED_DIM = 0.85         # "mixed": two coloured sources, each weaker than one key light


def light(rgb: np.ndarray, kind: str) -> np.ndarray:
    """``rgb`` (H x W x 3 uint8) under lighting ``kind`` (one of ``LIGHTS``)."""
    x = rgb.astype(np.float32) / 255.0
    if kind == "mixed":
        ramp = np.linspace(0.0, 1.0, x.shape[1], dtype=np.float32)[None, :, None]
        x = MIXED_DIM * (apply_lighting(x, "warm", 1.0) * (1 - ramp) + apply_lighting(x, "cool", 1.0) * ramp)
    elif kind in LIGHTS:
        x = apply_lighting(x, kind, 1.0)
    else:
        raise ValueError(f"lighting {kind!r}: expected one of {LIGHTS}")
    return np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8)


def person(photo: Path, mask: np.ndarray, skin_id: int) -> dict | None:
    """``{"rgb", "weight", "core", "face_box"}`` of one CCP photo, or None (no face on its skin)."""
    from lens.understanding.skin_faces import detect_faces    # deferred: mediapipe

    rgb = load_image(photo)
    skin = mask == skin_id
    best = None
    for face in sorted(detect_faces(rgb), key=lambda d: -d.box.area):
        x1, y1, x2, y2 = face.box.clip(rgb.shape[1], rgb.shape[0]).to_int()
        core = np.zeros_like(skin)
        core[y1:y2, x1:x2] = skin[y1:y2, x1:x2]
        if core.sum() >= MIN_FACE_SKIN:
            best = (face.box, core)
            break
    if best is None:
        return None
    weight = cv2.GaussianBlur(skin.astype(np.float32), (0, 0), FEATHER)
    return {"rgb": rgb, "weight": weight, "core": best[1], "face_box": best[0].as_list()}


class RetonedSet:
    """The re-toned samples of one split, made on the fly: ``(rgb, true MST, info)`` with ``info``
    ``{"photo", "lighting", "face_box"}``; ``len`` counts them before any is made."""

    def __init__(self, data, split: str = "val", msts=range(1, 11), lights=LIGHTS, limit: int = 0):
        self.src, self.msts, self.lights = Path(data) / "ccp", list(msts), list(lights)
        self.numbers, self.skipped = ccp_photos(data, limit, split), Skipped()

    def __len__(self) -> int:
        return len(self.numbers) * len(self.msts) * len(self.lights)

    def people(self) -> Iterator[tuple[int, dict]]:
        """``(photo number, person)`` for each usable photo (those without a face are counted)."""
        names = read_labels(self.src / "label_list.mat")
        skin_id = names.index("skin")
        for number in self.numbers:
            found = read_mask(self.src, number, self.skipped, len(names))
            if found is None:
                continue
            p = person(found[0], found[1], skin_id)
            if p is None:
                self.skipped(found[0], "no face on the skin mask")
                continue
            yield number, p

    def __iter__(self):
        for number, p in self.people():
            for mst in self.msts:
                toned = retone(p["rgb"], p["weight"], p["core"], mst)
                for kind in self.lights:
                    yield light(toned, kind), mst, {"photo": number, "lighting": kind, "face_box": p["face_box"]}


def face_crops(data, split: str, limit: int = 0, progress: bool = True) -> dict[str, np.ndarray]:
    """The re-toned set's face crops, for :func:`lens.understanding.skin_net.train`: ``{"x": N x
    SIDE x SIDE x 3 uint8, "mst": N, "light": N (index into LIGHTS), "photo": N}``.  Each photo's
    face region is cut out once (the box padded by ``skin_net.CROP_PAD``) and re-toned and lit
    there, which is the same as cutting it from the re-toned, lit photo (``mixed``'s ramp aside)."""
    from lens.understanding.skin_net import CROP_PAD, SIDE  # deferred: the network's module, for training

    rs = RetonedSet(data, split, limit=limit)
    x, mst, lights, photos = [], [], [], []
    for number, p in progress_bar(rs.people(), desc=f"re-toned {split} faces", total=len(rs.numbers),
                                  disable=not progress):
        h, w = p["rgb"].shape[:2]
        x1, y1, x2, y2 = Box(*p["face_box"]).pad(CROP_PAD).clip(w, h).to_int()
        crop, weight, core = p["rgb"][y1:y2, x1:x2], p["weight"][y1:y2, x1:x2], p["core"][y1:y2, x1:x2]
        for m in rs.msts:
            toned = retone(crop, weight, core, m)
            for index, kind in enumerate(rs.lights):
                x.append(cv2.resize(light(toned, kind), (SIDE, SIDE), interpolation=cv2.INTER_AREA))
                mst.append(m), lights.append(index), photos.append(number)
    if not x:
        raise ValueError(f"--real {data}: no CCP {split} photo with a face on its skin mask")
    return {"x": np.stack(x), "mst": np.array(mst), "light": np.array(lights), "photo": np.array(photos)}
