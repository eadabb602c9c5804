"""``lens label-crops``: weak labels for detected crops from their catalog look-alikes.

reader -> mapper -> writer, like :mod:`lens.pipeline.indexing`, each part usable alone:

* :mod:`lens.labeling.reader`: the images to label (a catalog's indexed scenes,
  or a manifest / image folder) in fixed-size shards with stable ids;
* :mod:`lens.labeling.mapper`: detect, crop, embed, find each crop's product
  neighbours in the visual index, and vote (:mod:`lens.labeling.weak`), with
  the categories the image's own text names as a prior (:mod:`lens.labeling.textprior`);
* :mod:`lens.labeling.writer`: per-shard JSONL (atomic) + a COCO dataset (one box per object);
* :mod:`jobs.runner`: runs any shard mapper in-process or on Ray Data
  (resumable either way; ``lens index --engine ray`` reuses it);
* :mod:`lens.labeling.job`: the whole job (shards, engine, COCO, ``report.json``);
* :mod:`lens.pipeline.usercrops`: the opt-in log of boxes users search with;
* :mod:`lens.evaluation.labels`: ``lens eval labels`` (agreement, coverage, mAPs);
* :mod:`lens.labeling.commands`: the CLI parsers and handlers.

Tested in ``tests/test_labeling.py``.
"""
