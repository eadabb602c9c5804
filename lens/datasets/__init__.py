"""Real-photo datasets converted into Lens's formats (``lens data ccp|grocery|clothing SRC OUT``).

* :mod:`lens.datasets.ccp`: Clothing Co-Parsing masks → COCO garment boxes + scene manifests;
* :mod:`lens.datasets.grocery`: Grocery Store → a catalog manifest + query lists;
* :mod:`lens.datasets.clothing`: clothing-dataset-small → a category manifest;
* :mod:`lens.datasets.common`: skipped-input accounting, atomic JSONL, folds.
"""
