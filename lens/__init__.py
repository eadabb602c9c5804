"""Lens: visual discovery over your own catalog.

The core library.  ``from lens.pipeline import Lens`` and ``from lens.config
import load_config``; importing ``lens`` itself loads nothing (the modules
directly in ``lens/`` are the foundation every package builds on, see
``lens/README.md``).
"""
from __future__ import annotations

import os

__version__ = "0.1.0"

# torch's OpenMP threads busy-wait after each parallel region by default, while onnxruntime,
# mediapipe and numpy run between torch's steps on the same cores: a street-photo query took
# 441 ms median with the spinning, 354 ms without (2 cores, issue 22).  It must be set before
# torch loads, so here; a value already in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
