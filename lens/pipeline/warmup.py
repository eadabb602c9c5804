"""Warm-up: one query at start-up, so a server's first user builds nothing (issue 22.3).

Models and graphs load on first use (:class:`lens.pipeline.bundle.ModelBundle`), onnxruntime
graphs are exported on first use (:mod:`lens.onnxrun`), mediapipe's graphs, the face mesh, the
skin tone network and the OCR engine on the first image that needs them, the catalog's
score calibration on the first query, and Complete The Look's backbone and the catalog's product
style vectors (persisted beside the index: computed once per catalog) on the first ``complete``.  :func:`warm_up` runs one whole query on
:func:`sample` -- scikit-image's astronaut photo (a person with a face, shipped in the package)
with a line of text drawn under her, so the OCR gate opens -- which reaches every one of them.
``lens serve`` and the gunicorn workers call it before they take a request
(``server.warm_up``), so readiness waits for it; ``/readyz`` reports what it took.

Then everything start-up made (models, the catalog's ids, maps and text index: ~450k objects
over a 100k-item catalog) is frozen out of the garbage collector's passes (``gc.freeze``): a
full pass over them took 252 ms, landing in whichever query allocated at the wrong moment
(one in 30 street-photo queries); frozen, the passes cost 1-2.5 ms (CCP queries' p95 260 ->
231 ms).  The process keeps that one catalog object for its life, so nothing frozen is replaced.

Tested in ``tests/test_serve.py``.
"""
from __future__ import annotations

import gc
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
    :func:`sample`, then freeze what start-up made out of the garbage collector's passes;
    ``{"ms": total, "query ms": the first whole-image query, "frozen objects": their count}``."""
    rgb = sample()
    start = time.perf_counter()
    first = lens(rgb, diversity=True, complete=True)      # Complete The Look: its models, the style vectors
    lens(rgb, box=[150, 80, 380, 440], diversity=False)
    gc.collect()                 # start-up's garbage goes first: nothing frozen is garbage
    gc.freeze()
    return {"ms": round((time.perf_counter() - start) * 1000, 1), "query ms": first.timings_ms.get("total"),
            "frozen objects": gc.get_freeze_count()}
