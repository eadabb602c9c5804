"""Lens: visual discovery over your own catalog.

The core library.  ``from lens.pipeline import Lens`` and ``from lens.config
import load_config``; importing ``lens`` itself loads nothing (the modules
directly in ``lens/`` are the foundation every package builds on, see
``lens/README.md``).
"""
from __future__ import annotations

__version__ = "0.1.0"
