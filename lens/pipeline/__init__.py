"""The pipeline: one model bundle, one analysis step, and the two jobs built on them.

:class:`~lens.pipeline.bundle.ModelBundle` (every model, built once from the
config), :mod:`~lens.pipeline.analysis` (decode -> detect -> crop -> embed ->
understand), :class:`~lens.pipeline.facade.Lens` (a query: analysis ->
sources -> blend -> DPP) and :mod:`~lens.pipeline.indexing` (``lens index``:
reader -> mapper -> writer).  ``from lens.pipeline import Lens``.
See ``lens/pipeline/README.md``.
"""
from __future__ import annotations

from lens.pipeline.facade import Lens

__all__ = ["Lens"]
