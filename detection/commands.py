"""Detector commands for the ``lens`` CLI: ``train-detector``, ``export-detector``, ``coco-from-synth``.

:func:`add_parsers` adds their sub-parsers and returns ``{name: handler}``;
each handler takes ``(args, config)`` and returns an exit code, like the
commands in :mod:`cli.main`; heavy modules are imported inside the handlers.
Tested in ``tests/test_detector_training.py`` and ``tests/test_detector_export.py``.
"""
from __future__ import annotations

import json

from detection.backbones import ARCHITECTURES, MNV2   # names only: no torch import
from lens.models import ModelStore
from lens.synth.coco import write_coco


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
    return {"train-detector": cmd_train_detector, "export-detector": cmd_export_detector,
            "coco-from-synth": cmd_coco_from_synth}


def cmd_train_detector(args, config) -> int:
    # deferred: torch takes seconds, and cli.main imports this module for every command's parser
    from detection.train import TrainSettings, train

    given = {k: getattr(args, k) for k in ("val", "epochs", "batch_size", "lr", "out",
                                            "checkpoint_every", "max_size", "seed")}
    settings = TrainSettings(args.data, args.images, arch=args.arch, resume=args.resume,
                             half=not args.fp32, **{k: v for k, v in given.items() if v is not None})
    result = train(settings, ModelStore.from_config(config.models))
    m = result["metrics"]
    if "map_50" in m:
        print(f"mAP@0.5 {m['map_50']:.3f}  mAP@[.5:.95] {m['map_50_95']:.3f}")
    print(f"wrote {result['checkpoint']} in {result['seconds']:.0f} s "
          f"(use it: --set models.detector_checkpoint={result['checkpoint']})")
    return 0


def cmd_export_detector(args, config) -> int:
    # deferred: torch and onnxruntime, which every other command's parser must not wait for
    from detection.export import export_onnx, load_detector, onnx_vs_torch

    detector = load_detector(config.detection, ModelStore.from_config(config.models),
                             checkpoint=args.checkpoint, arch=args.arch)
    path = export_onnx(detector, args.onnx, opset=args.opset)
    report = onnx_vs_torch(detector, path, image=args.image)
    print(json.dumps({"onnx": str(path), **report}))
    return 0 if report["ok"] else 1


def cmd_coco_from_synth(args, config) -> int:
    train_json, val_json = write_coco(args.catalog, args.out, args.val_every)
    print(f"wrote {train_json} and {val_json}; train with: lens train-detector --data {train_json} "
          f"--images {args.catalog} --val {val_json}")
    return 0
