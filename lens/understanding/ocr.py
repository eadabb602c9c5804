"""Text in images: rapidocr (PP-OCR), and a cheap "likely holds text" gate that may go before it.

PP-OCR's text detector sees each image with its short side at ``understanding.ocr_side``
(320 px, scaled up or down: :meth:`TextReader._detect_at`); its orientation and recognition
models then read the lines it found from the image's own pixels.  On 2 cores that costs a
street photo 15 ms median (87 ms at rapidocr's default 736) and an in-store photo 10 ms
(50 ms); lens/config.py gives the retrieval figures behind the default.  Its three graphs run
on :func:`lens.onnxrun.session`'s sessions (this process's share of the cores, no spin-wait).
``understanding.ocr`` says when it runs: ``always`` (default), ``off``, or ``auto``, when
:func:`likely_text` finds a line of character-like strokes (it misses small print: on 100
Grocery in-store photos it passed 20 and missed 44 with words).  Results are cached with the
rest of the understanding (by image hash) and stored per item at index time, so a catalog
image is read once.

:func:`likely_text` (~3 ms at 640 px): morphological gradient of the grey
image, Otsu threshold, connected components; a component is character-like
when it is 8-80 px tall, 0.1-1.6 times as wide as tall and fills 15-85 % of
its box.  Text is likely when at least ``MIN_CHARS`` such components sit on
one line (centres within 35 % of their height, heights within 40 %, gaps
under 1.2 heights) and they are not all alike: at least two of widths, gaps
and ink fill vary (coefficient of variation above 0.12, 0.3 and 0.1), as
letters do and most printed dots, checks and stripes do not.  Measured on
the synthetic catalog (which holds no text): one cue let 10% of products and
22% of scenes through, two cues 6% and 18%, all three 3% and 13% but missed
real words; false positives only cost an OCR call, and it is cached.

Tested in ``tests/test_annotations.py``.
"""
from __future__ import annotations

import logging
import threading

import cv2
import numpy as np
from rapidocr_onnxruntime import RapidOCR
from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

from lens.onnxrun import session
from lens.threads import share

log = logging.getLogger(__name__)
WORK_SIDE = 640        # the gate looks at text at the size people read it
MIN_CHARS = 4          # "SALE" is four letters; fewer is too easily noise
MIN_SCORE = 0.6        # rapidocr's recognition confidence below this is mostly garbage
MODES = ("off", "auto", "always")
DET_SIDE = 320         # the text detector's short side: lens/config.py's ocr_side measures it


def _char_boxes(gray: np.ndarray) -> np.ndarray:
    grad = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    _, binary = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    x, y, w, h, area = (stats[1:count, i] for i in range(5))
    keep = (h >= 8) & (h <= 80) & (w >= 0.1 * h) & (w <= 1.6 * h) & \
           (area >= 0.15 * w * h) & (area <= 0.85 * w * h)
    return np.stack([x, y, w, h, area / np.maximum(w * h, 1)], axis=1)[keep].astype(np.float64)


def _varied(values: np.ndarray, threshold: float) -> bool:
    return bool(len(values) > 1 and values.std() / max(abs(values.mean()), 1e-6) > threshold)


def _has_line(boxes: np.ndarray) -> bool:
    order = np.argsort(boxes[:, 0])
    boxes = boxes[order]
    cy, h = boxes[:, 1] + boxes[:, 3] / 2, boxes[:, 3]
    for i in range(len(boxes)):
        same = (np.abs(cy - cy[i]) < 0.35 * h[i]) & (np.abs(h - h[i]) < 0.4 * h[i])
        line = boxes[same]
        if len(line) < MIN_CHARS:
            continue
        gaps = line[1:, 0] - (line[:-1, 0] + line[:-1, 2])
        run = best = 1
        for gap in gaps:
            run = run + 1 if gap < 1.2 * h[i] else 1
            best = max(best, run)
        cues = sum([_varied(line[:, 2], 0.12), _varied(gaps, 0.3), _varied(line[:, 4], 0.1)])
        if best >= MIN_CHARS and cues >= 2:
            return True
    return False


def likely_text(rgb: np.ndarray) -> bool:
    """Whether an ``H x W x 3`` uint8 RGB image probably holds a line of text."""
    h, w = rgb.shape[:2]
    if min(h, w) < 16:
        return False
    scale = min(1.0, WORK_SIDE / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    boxes = _char_boxes(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
    return len(boxes) >= MIN_CHARS and _has_line(boxes)


def _quiet(engine: RapidOCR) -> RapidOCR:
    """``engine`` with its three graphs (text detection, orientation, recognition) on
    :func:`lens.onnxrun.session`'s sessions: this process's share of the cores
    (:func:`lens.threads.share`; rapidocr's own take every core in every worker) and no
    spin-waiting after a run (rapidocr's spin, stealing the cores from the steps after OCR)."""
    try:            # rapidocr-onnxruntime 1.4's attributes (requirements.txt pins it)
        graphs = (engine.text_det.infer, engine.text_cls.infer, engine.text_rec.session)
        for graph in graphs:
            graph.session = session(graph.session._model_path, share())
    except AttributeError as exc:
        log.warning("rapidocr keeps its own onnxruntime sessions (%s)", exc)
    return engine


class TextReader:
    """rapidocr (bundled PP-OCR models), loaded on first use, one call at a time."""

    def __init__(self, mode: str = "auto", side: int = DET_SIDE):
        """``side``: PP-OCR's text detector sees the photo with its short side scaled up to this
        (``understanding.ocr_side``)."""
        if mode not in MODES:
            raise ValueError(f"understanding.ocr '{mode}': expected one of {', '.join(MODES)}")
        if side < 32:
            raise ValueError(f"understanding.ocr_side {side}: expected at least 32 (px)")
        self.mode, self.side = mode, side
        self._engine = None
        self._lock = threading.Lock()

    def __call__(self, rgb: np.ndarray) -> list[dict]:
        """Words read from ``rgb``: ``{"text", "score", "box"}`` (pixel x1, y1, x2, y2)."""
        if self.mode == "off" or (self.mode == "auto" and not likely_text(rgb)):
            return []
        with self._lock:
            if self._engine is None:
                self._engine = _quiet(RapidOCR(det_limit_side_len=self.side, det_limit_type="min"))
            self._detect_at(rgb.shape[0], rgb.shape[1])
            found, _ = self._engine(np.ascontiguousarray(rgb[:, :, ::-1]))   # it expects BGR
        return _words(found)

    def _detect_at(self, h: int, w: int) -> None:
        """The text detector sees the photo with its short side at ``side``, scaled up or down
        (rapidocr's ``min`` only scales up; its ``max`` bounds the long side); the recogniser reads
        the words from the photo's own pixels either way."""
        det = self._engine.text_det
        kind, limit = ("min", self.side) if min(h, w) <= self.side else \
            ("max", round(self.side * max(h, w) / min(h, w)))
        scaling = DetPreProcess(limit, kind, det.mean, det.std)
        det.get_preprocess = lambda _long_side: scaling     # its own picks 960-2000 px for "max"


def _words(found) -> list[dict]:
    """rapidocr's ``(quad, text, score)`` lines: the confident ones as word dicts."""
    words = []
    for quad, text, score in found or []:
        pts = np.asarray(quad, dtype=np.float64)
        if float(score) >= MIN_SCORE and text.strip():
            words.append({"text": text.strip(), "score": round(float(score), 4),
                          "box": [round(float(v), 1) for v in (*pts.min(0), *pts.max(0))]})
    return words
