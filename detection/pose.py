"""People in an image with mediapipe: selfie segmentation, then pose landmarks by ROI.

Shared by the people/garment detector (:mod:`detection.people`) and the body
type estimator (:mod:`lens.understanding.body`).  Everything takes and returns
pixel coordinates of an ``H x W x 3`` uint8 RGB image; boxes are
:class:`lens.boxes.Box` (x1, y1, x2, y2).

* :func:`segment_people`: person probability ``H x W`` float 0..1 (the general
  selfie model on a 256-px letterboxed square).
* :func:`person_candidates`: ``(box, cut by the frame bottom)`` per person
  component, a component wider than 0.9 x its height split once.
* :func:`given_boxes`, :func:`candidates`: person boxes found elsewhere (the
  object detector's ``person`` class) added to the segmentation's candidates.
* :func:`has_head` (with :class:`FaceCheck`): a pose is a person only with a head.
* :func:`pose_by_roi`: mediapipe pose (``pose_landmark_full``) run on a square
  ROI around a candidate, because mediapipe's own pose detector needs a face
  and misses chin-cropped shots -> 33 landmarks ``[x px, y px, visibility,
  presence]`` and the pose's person mask.

Tested in ``tests/test_people.py`` and ``tests/test_body_type.py``.
"""
from __future__ import annotations

import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable

import cv2
import numpy as np
from google.protobuf import text_format

import lens.console  # noqa: F401 -- before mediapipe loads: quiets its native logs
from detection.face_mesh import confirmed
from lens.boxes import Box

SEG_SIDE = 256                  # selfie model input (general model: 256 x 256)
PERSON_MIN_AREA, PERSON_MIN_HEIGHT = 0.01, 0.3   # of the image area / height
EDGE_MARGIN, SPLIT_ASPECT, BOTTOM_CUT_WIDTH = 2, 0.9, 0.5      # px; width/height; of the widest row
HEAD_CUT_VISIBLE, ROI_SCALE = 0.75, 1.4    # chin-to-sole share of a figure; mediapipe's ROI margin
HEAD_CUT_TOP = 0.1              # a box starting this near the top is head-cut (selfie masks lose the neck)
SAME_PERSON = 0.5               # two person boxes overlapping by more IoU are one person
SOURCE = "people"               # detection.people's source: boxes made from these very candidates
NOSE, SHOULDERS = 0, (11, 12)   # pose landmark indices
# A pose is a person only with a head (has_head).  Fitted on our validation splits' person
# candidates (CCP 140 val photos, synthetic scenes, Grocery val and clothing val photos) and
# checked on Grocery's train photos; each figure is the 5th percentile of real people unless said.
FACE_SCORE = 0.5                # BlazeFace score of a confirming face (CCP people >= 0.75)
FACE_PAD = 0.2                  # of the face box: the pose's nose may sit just outside it
NOSE_ABOVE = 0.2                # shoulder widths between the nose and the shoulder line (CCP 0.42,
                                # synthetic 0.22; poses found in produce: median 0.17, many below 0)
HEAD_ROOM = 0.12                # of the box height from its top to the shoulder line of a figure
                                # whose head the frame cut off (synthetic 0.07-0.115, with a head >= 0.17)
NOSE_OUT = 0.025                # of the frame height: a head-cut figure's nose lies above the frame's
                                # top or just inside it (synthetic chin-cropped figures: <= 0.019 for
                                # 20 of 23; poses in produce: 15 of 21 lower)
# ROIs tried in turn until pose finds landmarks: the landmark model's presence flips with the
# framing on wide, headless figures (synthetic "full" figures: 1 in 4 found by the first ROI
# alone); a second figure share and a looser margin find most of the rest.
HEAD_CUT_SHARES, ROI_SCALES = (HEAD_CUT_VISIBLE, 0.85), (ROI_SCALE, 1.7)

_POSE_GRAPH = """
input_stream: "image"
input_stream: "roi"
output_stream: "landmarks"
output_stream: "mask"
node { calculator: "PoseLandmarkByRoiCpu"
  input_stream: "IMAGE:image" input_stream: "ROI:roi"
  input_side_packet: "MODEL_COMPLEXITY:model_complexity"
  input_side_packet: "ENABLE_SEGMENTATION:enable_segmentation"
  output_stream: "LANDMARKS:landmarks" output_stream: "SEGMENTATION_MASK:seg" }
node { calculator: "FromImageCalculator" input_stream: "IMAGE:seg" output_stream: "IMAGE_CPU:mask" }
"""


class PeopleGraphs:
    """The two mediapipe graphs, loaded on first use; hold ``lock`` while calling them.

    :meth:`segment`, :meth:`pose` and :meth:`face_check` remember their last ``MEMO`` results by image content:
    the people detector and body type, given one instance (the model bundle shares it), ask
    for the same image's segmentation and poses, and get them computed once (issue 22: they
    ran twice a query, ~40 ms on a street photo).  Remembered arrays are read-only."""

    MEMO = 16                       # a query asks for one segmentation and one pose per candidate

    def __init__(self):
        self._seg = self._pose = None
        self.lock = threading.Lock()    # mediapipe graphs are not re-entrant
        self._memo: OrderedDict[tuple, object] = OrderedDict()
        self._last: tuple[np.ndarray | None, bytes] = (None, b"")

    def graphs(self):
        """``(selfie segmentation, pose-by-ROI graph)``."""
        if self._pose is None:
            # deferred: mediapipe takes ~3 s to import; importing this module must not load the graphs
            import mediapipe as mp
            from mediapipe.framework import calculator_pb2  # mediapipe: deferred, as above
            from mediapipe.python.solution_base import SolutionBase  # mediapipe: deferred, as above

            self._seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
            cfg = text_format.Parse(_POSE_GRAPH, calculator_pb2.CalculatorGraphConfig())
            self._pose = SolutionBase(graph_config=cfg, side_inputs={
                "model_complexity": 1, "enable_segmentation": True})
        return self._seg, self._pose

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        """:func:`segment_people` on ``rgb``, remembered (call with ``lock`` held)."""
        return self._remember((self._key(rgb), "segment"), lambda: segment_people(self.graphs()[0], rgb))

    def pose(self, rgb: np.ndarray, box: Box, retry: bool = False):
        """:func:`pose_by_roi` on ``rgb``, remembered (call with ``lock`` held)."""
        key = (self._key(rgb), "pose", tuple(box.as_list()))
        if retry and self._memo.get((*key, False)) is not None:    # retry's first ROI found it already
            return self._memo[(*key, False)]
        return self._remember((*key, retry), lambda: pose_by_roi(self.graphs()[1], rgb, box, retry))

    def face_check(self, rgb: np.ndarray) -> "FaceCheck":
        """The image's :class:`FaceCheck`, remembered: each face box is meshed once for both
        callers (call with ``lock`` held)."""
        return self._remember((self._key(rgb), "faces"), lambda: FaceCheck(rgb))

    def _key(self, rgb: np.ndarray) -> bytes:
        if self._last[0] is rgb:        # the same array, asked again within one call
            return self._last[1]
        key = hashlib.blake2b(rgb.tobytes(), digest_size=16, person=repr(rgb.shape).encode()[:16]).digest()
        self._last = (rgb, key)
        return key

    def _remember(self, key: tuple, compute: Callable[[], object]):
        if key in self._memo:
            self._memo.move_to_end(key)
            return self._memo[key]
        value = _read_only(compute())
        self._memo[key] = value
        while len(self._memo) > self.MEMO:
            self._memo.popitem(last=False)
        return value

    def close(self) -> None:
        for graph in (self._seg, self._pose):
            if graph is not None:
                graph.close()
        self._seg = self._pose = None
        self._memo.clear()
        self._last = (None, b"")


def _read_only(value):
    """Arrays (alone or in a tuple) made read-only: a remembered result is shared."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, tuple):
        for v in value:
            _read_only(v)
    return value


def segment_people(seg, rgb: np.ndarray) -> np.ndarray:
    """Person probability (H x W float 0..1): the general selfie model on a letterboxed square."""
    h, w = rgb.shape[:2]
    s = SEG_SIDE / max(h, w)
    small = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    sq = np.zeros((SEG_SIDE, SEG_SIDE, 3), np.uint8)
    y0, x0 = (SEG_SIDE - small.shape[0]) // 2, (SEG_SIDE - small.shape[1]) // 2
    sq[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    prob = seg.process(sq).segmentation_mask[y0:y0 + small.shape[0], x0:x0 + small.shape[1]]
    return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)


def _split(comp: np.ndarray, x: int, y: int, min_height: float) -> list[tuple[int, int, np.ndarray]]:
    """A component mask (with its offset), split once at its thinnest middle column if too wide."""
    bh, bw = comp.shape
    if bw <= SPLIT_ASPECT * bh or bh < min_height:
        return [(x, y, comp)]
    cut = int(0.2 * bw) + int(comp.sum(0)[int(0.2 * bw):int(0.8 * bw)].argmin())
    return [(x, y, comp[:, :cut]), (x + cut, y, comp[:, cut:])]


def person_candidates(prob: np.ndarray, max_people: int) -> list[tuple[Box, bool]]:
    """``(box, cut by the frame bottom)`` of the largest person components, left to right."""
    h, w = prob.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats((prob > 0.5).astype(np.uint8))
    parts = [p for i in range(1, n) for p in _split(
        labels[stats[i, 1]:stats[i, 1] + stats[i, 3], stats[i, 0]:stats[i, 0] + stats[i, 2]] == i,
        int(stats[i, 0]), int(stats[i, 1]), PERSON_MIN_HEIGHT * h)]
    found = []
    for x, y, comp in parts:
        rows, cols = np.flatnonzero(comp.any(1)), np.flatnonzero(comp.any(0))
        if comp.sum() < PERSON_MIN_AREA * h * w or len(rows) == 0 or rows[-1] - rows[0] < PERSON_MIN_HEIGHT * h:
            continue
        widths = comp.sum(1)
        cut = y + rows[-1] >= h - 1 - EDGE_MARGIN and (
            y + rows[0] > HEAD_CUT_TOP * h or widths[rows[-1]] >= BOTTOM_CUT_WIDTH * widths.max())
        box = Box(float(x + cols[0]), float(y + rows[0]), float(x + cols[-1] + 1), float(y + rows[-1] + 1))
        found.append((int(comp.sum()), box, bool(cut)))
    found = sorted(found, key=lambda t: -t[0])[:max_people]
    return sorted(((b, c) for _, b, c in found), key=lambda t: t[0].x1)


def pose_by_roi(pose, rgb: np.ndarray, box: Box, retry: bool = False):
    """``(33 x 4 [x px, y px, visibility, presence], person mask H x W bool)`` or None (no pose).

    ``retry``: when the first ROI finds no pose, try the other figure shares
    and margins (``HEAD_CUT_SHARES``, ``ROI_SCALES``): more people found, and
    more poses on objects, so only for callers that verify the pose (body type).
    """
    from mediapipe.framework.formats import rect_pb2  # deferred: mediapipe, see PeopleGraphs.graphs

    h, w = rgb.shape[:2]
    head_cut = box.y1 <= HEAD_CUT_TOP * h
    shares = HEAD_CUT_SHARES if head_cut else (1.0,)
    rois = [(box.y2 - box.height / share / 2, scale * box.height / share)
            for share, scale in itertools.product(shares, ROI_SCALES)][:None if retry else 1]
    rois += [(h / 3, ROI_SCALE * h / HEAD_CUT_VISIBLE)] * head_cut
    for cy, size in rois:
        roi = rect_pb2.NormalizedRect(x_center=(box.x1 + box.x2) / 2 / w, y_center=cy / h,
                                      width=size / w, height=size / h, rotation=0.0)
        res = pose.process({"image": rgb, "roi": roi})
        if res.landmarks is not None and res.mask is not None:
            pts = np.array([[p.x * w, p.y * h, p.visibility, p.presence] for p in res.landmarks.landmark])
            return pts, res.mask > 0.5
    return None


def has_head(points: np.ndarray, box: Box, frame_height: int, faces: list[Box],
             confirm: Callable[[Box], bool] | None = None) -> bool:
    """Is the pose ``points`` (33 x 4 ``[x px, y px, visibility, presence]``) of the candidate
    ``box`` a person: a face (one of ``faces``, pixel boxes of BlazeFace detections scoring at
    least ``FACE_SCORE``, that ``confirm`` accepts) around its nose, the nose above its
    shoulders; or no head because the frame cut it off (the box starts at the frame's top, its
    shoulders right below, and the pose's nose above the frame's top or just under it).

    Pose and segmentation find "people" in produce, cartons and garments laid flat (Grocery:
    a third of the in-store photos had garment boxes); a head is what they lack.  BlazeFace
    finds "faces" in apple piles, so ``confirm`` (:class:`FaceCheck`: the face mesh) makes sure
    of the face: on the Grocery photos whose poses still passed, 56 of 57 faces at a nose had
    no mesh, while 78 of 79 CCP people's faces had one.  A head-cut figure's nose lies above the
    frame or at its edge (``NOSE_OUT``); poses in produce put theirs lower.
    """
    shoulders = points[list(SHOULDERS), :2]
    width = max(4.0, float(abs(shoulders[0, 0] - shoulders[1, 0])))
    shoulder_y, (nx, ny) = float(shoulders[:, 1].mean()), points[NOSE, :2]
    if shoulder_y - ny >= NOSE_ABOVE * width:
        for face in faces:
            f = face.pad(FACE_PAD)
            if f.x1 <= nx <= f.x2 and f.y1 <= ny <= f.y2 and (confirm is None or confirm(face)):
                return True
    return (box.y1 <= HEAD_CUT_TOP * frame_height and shoulder_y - box.y1 <= HEAD_ROOM * box.height
            and ny <= NOSE_OUT * frame_height)


class FaceCheck:
    """``confirm`` for :func:`has_head`: the face mesh (:func:`detection.face_mesh.confirmed`) on
    face boxes of one image (H x W x 3 uint8), each box meshed at most once."""

    def __init__(self, rgb: np.ndarray):
        self.rgb, self._seen = rgb, {}

    def __call__(self, face: Box) -> bool:
        key = tuple(face.as_list())
        if key not in self._seen:
            self._seen[key] = confirmed(self.rgb, face)
        return self._seen[key]


def face_boxes(faces, scale: float = 1.0) -> list[Box]:
    """The boxes (scaled by ``scale``) of ``faces`` (face detections) scoring at least ``FACE_SCORE``."""
    return [f.box.scale(scale) for f in faces or () if f.score >= FACE_SCORE]


def given_boxes(people, scale: float = 1.0) -> list[Box]:
    """Person boxes handed in (Box, [x1, y1, x2, y2] or a detection's ``.box``), scaled by ``scale``.

    Detections of :mod:`detection.people` (``SOURCE``) are left out: they come
    from the same segmentation and pose, so they would only be measured twice.
    """
    boxes = []
    for p in people or ():
        if getattr(p, "source", None) == SOURCE:
            continue
        box = getattr(p, "box", p)
        box = box if isinstance(box, Box) else Box(*(float(v) for v in box))
        if box.width > 0 and box.height > 0:
            boxes.append(box.scale(scale))
    return boxes


def candidates(own: list[tuple[Box, bool]], given: list[Box], height: int,
               max_people: int) -> list[tuple[Box, bool]]:
    """Segmentation's candidates plus the given boxes that add a person (IoU <= ``SAME_PERSON``
    with every candidate), the ``max_people`` largest.  A given box is cut by the frame
    bottom when it reaches it and starts below the top ``HEAD_CUT_TOP`` (a head in frame)."""
    out = list(own)
    for box in sorted(given, key=lambda b: -b.area):
        if all(box.iou(b) <= SAME_PERSON for b, _ in out):
            cut = box.y2 >= height - 1 - EDGE_MARGIN and box.y1 > HEAD_CUT_TOP * height
            out.append((box, cut))
    return sorted(out, key=lambda t: -t[0].area)[:max_people]
