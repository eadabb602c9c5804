"""``lens eval complete --manifest SCENES [--checkpoint C]``: Complete The Look measured (issue 23.4).

Fill in the blank (the blanked class's true crop among 4 of that class; random = 0.25) and pairwise
AUC on the manifest's boxed scenes, for the style embedding (``--checkpoint``, default
``models.compat`` else the committed one; ``--checkpoint none``: the baselines alone) and, in the
same run, the visual-similarity baseline (the candidate nearest the blanked scene in ImageNet
features) and a geometry check (the hole's aspect ratio against each candidate crop's: near 0.25
means the holes do not give the answer away).  :mod:`lens.complete.train` computes them.

Tested in ``tests/test_complete.py``.
"""
from __future__ import annotations

from lens.complete.model import CHECKPOINT
from lens.complete.train import eval_compat
from lens.evaluation.common import EvalReport
from lens.models import ModelStore


def complete_command(args, config) -> EvalReport:
    checkpoint = None if args.checkpoint == "none" else (args.checkpoint or config.models.compat or str(CHECKPOINT))
    figures = eval_compat(args.manifest, checkpoint, ModelStore.from_config(config.models).resolve("mobilenet_v2"))
    return EvalReport(f"Complete The Look on {args.manifest} ({checkpoint or 'baselines only'})", figures)
