"""Metric learning for Lens's own models: the unified embedding (``lens train-embedding``).

:mod:`~lens.learning.samples` (what a manifest teaches), :mod:`~lens.learning.views`
(augmented views through the frozen stem, once), :mod:`~lens.learning.trainer` (the one
normalized-softmax trainer) and :mod:`~lens.learning.embedding` (the command's job).
"""
