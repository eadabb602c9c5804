"""``lens data grocery SRC OUT``: the Grocery Store Dataset → a catalog manifest and query lists.

The dataset (github: marcusklasson/GroceryStoreDataset) holds in-store phone photos of 81
products under ``dataset/`` (``train.txt`` / ``val.txt`` / ``test.txt`` lines:
``path, fine class id, coarse class id``) and ``classes.csv``: per product its fine and coarse
class and one catalog ("iconic") image and description under
``iconic-images-and-descriptions/``; an ``*_Information.txt`` beside the description gives
the product's title.

Writes into OUT:

* ``catalog.jsonl``: one product per class (``kind`` product, ``id`` = the class name,
  ``title``, ``description``, ``category`` = the coarse class, ``fine_category``,
  ``department`` = Fruit / Vegetables / Packages, ``image`` = the catalog image);
* ``queries-<split>.jsonl`` for each split file present: the in-store photos (``kind`` scene,
  ``product`` = the catalog id they show, ``category``, ``fine_category``), usable as queries
  and, for the train split, as extra catalog photos;
* ``report.json``: counts and what was skipped and why.

Tested in ``tests/test_datasets.py``.
"""
from __future__ import annotations

import csv
from pathlib import Path

from lens.datasets.common import Skipped, checked_image, source_folder, write_json, write_jsonl

SPLITS = ("train", "val", "test")
CLASS_COLUMNS = 6       # name, id, coarse name, coarse id, iconic image, description


def _read_text(path: Path) -> str:
    try:
        return " ".join(path.read_text(encoding="utf-8", errors="replace").split())
    except OSError:
        return ""


def _title(description_path: Path, name: str) -> str:
    """The ``Title:`` line of the product's Information file, else its class name in words."""
    info = Path(str(description_path).replace("_Description.txt", "_Information.txt"))
    if info.is_file():
        for line in info.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("title:") and line[6:].strip():
                return line[6:].strip()
    return name.replace("-", " ")


def read_products(dataset: Path, skipped: Skipped) -> dict[int, dict]:
    """``fine class id -> catalog row`` from ``classes.csv``; bad lines recorded and left out."""
    path = dataset / "classes.csv"
    products: dict[int, dict] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for number, cells in enumerate(csv.reader(fh), 1):
            if number == 1 or not cells:
                continue            # the header
            where = f"{path}:{number}"
            if len(cells) != CLASS_COLUMNS or not cells[1].strip().isdigit():
                skipped(where, f"expected {CLASS_COLUMNS} columns with a class id")
                continue
            name, class_id, coarse, _, iconic, described = (c.strip() for c in cells)
            image = dataset / iconic.lstrip("/")
            if checked_image(image, skipped, where) is None:
                continue
            text = dataset / described.lstrip("/")
            products[int(class_id)] = {
                "id": name, "image": str(image), "kind": "product", "title": _title(text, name),
                "description": _read_text(text), "category": coarse, "fine_category": name,
                "department": Path(iconic).parts[2] if len(Path(iconic).parts) > 2 else ""}
    return products


def read_queries(dataset: Path, split: str, products: dict[int, dict], skipped: Skipped) -> list[dict]:
    """The photos of ``<split>.txt`` with the product each shows; bad lines recorded and left out."""
    path = dataset / f"{split}.txt"
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != 3 or not cells[1].isdigit():
            skipped(where, "expected 'path, fine class id, coarse class id'")
            continue
        product = products.get(int(cells[1]))
        if product is None:
            skipped(where, f"class {cells[1]} has no catalog product")
            continue
        image = dataset / cells[0]
        if checked_image(image, skipped, where) is None:
            continue
        rows.append({"id": f"{split}-{image.stem}", "image": str(image), "kind": "scene",
                     "product": product["id"], "category": product["category"],
                     "fine_category": product["fine_category"], "split": split})
    return rows


def convert(src, out, progress=lambda xs, **_: xs) -> dict:
    """Convert the Grocery Store folder ``src`` (or its ``dataset/``) into ``out``; returns the report."""
    src = Path(src)
    dataset = src / "dataset" if (src / "dataset" / "classes.csv").is_file() else src
    dataset = source_folder(dataset, "classes.csv", "Grocery")
    out = Path(out)
    skipped = Skipped()
    products = read_products(dataset, skipped)
    if not products:
        raise ValueError(f"Grocery source {dataset}: no usable product in classes.csv ({skipped.total} skipped)")
    write_jsonl(out / "catalog.jsonl", sorted(products.values(), key=lambda p: p["id"]))
    queries = {}
    for split in progress([s for s in SPLITS if (dataset / f"{s}.txt").is_file()], desc="grocery"):
        queries[split] = read_queries(dataset, split, products, skipped)
        write_jsonl(out / f"queries-{split}.jsonl", queries[split])
    report = {"dataset": "grocery", "source": str(dataset), "out": str(out), "products": len(products),
              "departments": sorted({p["department"] for p in products.values()}),
              "coarse_categories": len({p["category"] for p in products.values()}),
              "queries": {s: len(rows) for s, rows in queries.items()}, "skipped": skipped.report()}
    write_json(out / "report.json", report)
    return report
