"""Detector commands for the ``lens`` CLI: ``train-detector`` and ``export-detector``.

:func:`add_parsers` adds their sub-parsers and returns ``{name: handler}``;
each handler takes ``(args, config)`` and returns an exit code, like the
commands in :mod:`lens.cli`.  Tested in ``tests/test_detector_training.py``
and ``tests/test_detector_export.py``.
"""
from __future__ import annotations


def add_parsers(sub) -> dict:
    """Register the detector commands on ``sub`` (argparse sub-parsers)."""
    return {}
