"""The handlers of the detector commands (:mod:`detection.commands` defines their parsers).

Each takes ``(args, config)``, prints its output and returns an exit code.
This module loads torch and onnxruntime when imported: :mod:`cli.main`
imports it only to run one of its commands.

Tested in ``tests/test_detector_training.py`` and ``tests/test_detector_export.py``.
"""
from __future__ import annotations

import json

from detection.export import export_onnx, load_detector, onnx_vs_torch
from detection.train import TrainSettings, train
from lens.models import ModelStore
from lens.synth.coco import write_coco


def cmd_train_detector(args, config) -> int:
    given = {k: getattr(args, k) for k in ("val", "epochs", "batch_size", "lr", "out",
                                            "checkpoint_every", "max_size", "seed", "train_blocks")}
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
