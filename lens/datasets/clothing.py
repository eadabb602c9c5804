"""``lens data clothing SRC OUT``: clothing-dataset-small → a category manifest.

The dataset (github: alexeygrigorev/clothing-dataset-small) holds photos in
``<split>/<category>/*.jpg`` for the splits ``train``, ``validation`` and ``test`` (those
present are read) and 10 categories: dress, hat, longsleeve, outwear, pants, shirt, shoes,
shorts, skirt, t-shirt.  A category folder outside those 10 is kept under its own name (a
user's own set) with no garment class.

Writes into OUT: ``manifest.jsonl`` (every photo: ``kind`` product, ``category`` = the
folder, ``garment`` = its detector class of :data:`lens.taxonomy.GARMENT_CLASSES`,
``split``), ``train.jsonl`` and ``val.jsonl`` (the ``train`` and ``validation`` photos, for
``lens train-categories`` and its evaluation) and ``report.json``.

Tested in ``tests/test_datasets.py``.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from lens.datasets.common import Skipped, checked_image, source_folder, write_json, write_jsonl
from lens.imageio import is_image_path

SPLITS = {"train": "train", "validation": "val", "test": "test"}
GARMENT = {"dress": "dress", "hat": "hat", "longsleeve": "upper_body", "outwear": "upper_body",
           "pants": "lower_body", "shirt": "upper_body", "shoes": "footwear",
           "shorts": "lower_body", "skirt": "lower_body", "t-shirt": "upper_body"}
TITLE = {"longsleeve": "long-sleeve top", "outwear": "outerwear", "t-shirt": "t-shirt"}


def _photos(folder: Path, split: str, skipped: Skipped) -> list[dict]:
    rows = []
    for category in sorted(p for p in folder.iterdir() if p.is_dir()):
        name = category.name
        if name not in GARMENT:
            skipped(category, f"category '{name}' has no garment class (kept, garment null)")
        for path in sorted(p for p in category.iterdir() if p.is_file()):
            if not is_image_path(path) or checked_image(path, skipped, path) is None:
                continue
            rows.append({"id": f"{name}/{path.stem}", "image": str(path), "kind": "product",
                         "title": TITLE.get(name, name), "category": name,
                         "garment": GARMENT.get(name), "split": SPLITS[split]})
    return rows


def convert(src, out, progress=lambda xs, **_: xs) -> dict:
    """Convert the clothing folder ``src`` into ``out``; returns the report."""
    src = Path(src)
    present = [s for s in SPLITS if (src / s).is_dir()]
    if not present:
        source_folder(src, "train", "clothing")       # raises naming the missing folder
    src = src.resolve()
    skipped = Skipped()
    rows = [r for split in progress(present, desc="clothing") for r in _photos(src / split, split, skipped)]
    if not rows:
        raise ValueError(f"clothing source {src}: no readable photo ({skipped.total} skipped)")
    out = Path(out)
    write_jsonl(out / "manifest.jsonl", rows)
    for split in ("train", "val"):
        write_jsonl(out / f"{split}.jsonl", [r for r in rows if r["split"] == split])
    counts = Counter((r["split"], r["category"]) for r in rows)
    report = {"dataset": "clothing", "source": str(src), "out": str(out), "photos": len(rows),
              "per_split": {s: {c: n for (sp, c), n in sorted(counts.items()) if sp == s}
                            for s in sorted({r["split"] for r in rows})},
              "skipped": skipped.report()}
    write_json(out / "report.json", report)
    return report
