"""Lens: visual discovery over your own catalog.

``from lens import Lens, load_config``; heavy modules load on first use.
"""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Lens", "LensResult", "load_config"]


def __getattr__(name: str):
    if name == "Lens":
        from lens import facade

        return facade.Lens
    if name == "LensResult":
        from lens.types import LensResult

        return LensResult
    if name == "load_config":
        from lens.config import load_config

        return load_config
    raise AttributeError(f"module 'lens' has no attribute {name!r}")
