"""The detector commands' parsers: ``train-detector``, ``export-detector``, ``coco-from-synth``.

:func:`add_parsers` adds their sub-parsers and returns ``{name:
"detection.handlers:cmd_NAME"}``: the handlers live in :mod:`detection.handlers`,
which loads torch, onnxruntime and the synthetic catalog, and :mod:`cli.main`
imports it only to run one of them (every ``lens`` command builds this parser).
Tested in ``tests/test_detector_training.py`` and ``tests/test_detector_export.py``.
"""
from __future__ import annotations

from detection.backbones import ARCHITECTURES, MNV2   # names only: no torch import


def add_parsers(sub) -> dict:
    """Register the detector commands on ``sub`` (argparse sub-parsers)."""
    # Defaults left as None come from detection.train.TrainSettings (not imported
    # here: it pulls in torch, and every `lens` command builds this parser).
    t = sub.add_parser("train-detector", help="fine-tune Faster R-CNN on COCO-format boxes")
    t.add_argument("--data", required=True, help="COCO JSON with the training boxes")
    t.add_argument("--images", required=True, help="folder the COCO file_names are relative to")
    t.add_argument("--val", help="COCO JSON evaluated (mAP) after each epoch")
    t.add_argument("--arch", default=MNV2, choices=sorted(ARCHITECTURES), metavar="ARCH",
                   help=f"architecture (default {MNV2}; valid: {', '.join(sorted(ARCHITECTURES))})")
    t.add_argument("--epochs", type=int, help="passes over the data (default 10)")
    t.add_argument("--batch-size", type=int, help="images a step (default 4)")
    t.add_argument("--lr", type=float, help="AdamW peak learning rate (default 1e-3)")
    t.add_argument("--out", help="output folder (default runs/detector)")
    t.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    t.add_argument("--checkpoint-every", type=int, metavar="STEPS", help="default 100")
    t.add_argument("--max-size", type=int, metavar="PX", help="long side images are resized to (default 480)")
    t.add_argument("--seed", type=int, help="default 0")
    t.add_argument("--fp32", action="store_true", help="store detector.pt in fp32 (default fp16)")
    t.add_argument("--train-blocks", type=int, metavar="N",
                   help=f"{MNV2}: also fine-tune its last N MobileNetV2 blocks (default 0: frozen)")

    e = sub.add_parser("export-detector", help="export a detector to ONNX and check it against torch")
    e.add_argument("--onnx", required=True, help="output .onnx path")
    src = e.add_mutually_exclusive_group()
    src.add_argument("--checkpoint", help="a train-detector checkpoint (default: the configured detector)")
    src.add_argument("--arch", choices=sorted(ARCHITECTURES), metavar="ARCH",
                     help="a COCO architecture whose weights are on disk")
    e.add_argument("--image", help="image to compare onnxruntime with torch on (default: a synthetic one)")
    e.add_argument("--opset", type=int, default=17)

    c = sub.add_parser("coco-from-synth", help="COCO JSON (train/val) from a `lens synth` catalog's scenes")
    c.add_argument("catalog", help="folder written by `lens synth`")
    c.add_argument("out", help="folder for train.json and val.json")
    c.add_argument("--val-every", type=int, default=5, help="every Nth scene goes to val (default 5)")
    return {"train-detector": "detection.handlers:cmd_train_detector",
            "export-detector": "detection.handlers:cmd_export_detector",
            "coco-from-synth": "detection.handlers:cmd_coco_from_synth"}
