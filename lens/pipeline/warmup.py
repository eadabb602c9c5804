"""Warm-up: one query at start-up, so a server's first user builds nothing (issue 22.3).

Models and graphs load on first use (:class:`lens.pipeline.bundle.ModelBundle`), onnxruntime
graphs are exported on first use (:mod:`lens.onnxrun`), mediapipe's graphs, the face mesh, the
skin tone network and the OCR engine on the first image that needs them, and the catalog's
score calibration on the first query.  :func:`warm_up` runs one whole query on
:func:`sample` -- scikit-image's astronaut photo (a person with a face, shipped in the package)
with a line of text drawn under her, so the OCR gate opens -- which reaches every one of them.
``lens serve`` and the gunicorn workers call it before they take a request
(``server.warm_up``), so readiness waits for it; ``/readyz`` reports what it took.

Tested in ``tests/test_serve.py``.
"""
from __future__ import annotations

import time

import cv2
import numpy as np


def sample() -> np.ndarray:
    """512 x 512 x 3 uint8 RGB: a person with a face and a line of text."""
    import skimage.data  # deferred: only a warm-up needs the photo

    rgb = skimage.data.astronaut().copy()
    cv2.rectangle(rgb, (0, 440), (512, 512), (255, 255, 255), -1)
    cv2.putText(rgb, "Lens warm-up 2026", (20, 490), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (10, 10, 10), 3)
    return rgb


def warm_up(lens) -> dict:
    """Run one query of every kind a user sends (whole image with diversity; a box) on
    :func:`sample`; ``{"ms": total, "query ms": the first whole-image query}``."""
    rgb = sample()
    start = time.perf_counter()
    first = lens(rgb, diversity=True)
    lens(rgb, box=[150, 80, 380, 440], diversity=False)
    return {"ms": round((time.perf_counter() - start) * 1000, 1), "query ms": first.timings_ms.get("total")}
