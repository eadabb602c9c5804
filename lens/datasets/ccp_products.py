"""CCP's labelled garments as a product catalog: the voters of the weak-label loop (issue 19.3).

``lens label-crops`` labels a crop by the categories of its nearest *products* and by the
categories its photo's text names (:mod:`lens.labeling`).  Real street photos have no
catalog, so :func:`write_products` makes one from the masked photos of the *training* split:
every garment box (pixel x1, y1, x2, y2, :mod:`lens.boxes`), padded like a detector crop
(:data:`PAD`), is cut out and saved as ``products/<photo>-<n>.jpg``, and ``products.jsonl``
lists them as ``kind: product`` items with ``category`` (the garment class) and ``title``
(CCP's part names, e.g. ``"blouse, vest"``): the titles teach
:class:`lens.labeling.textprior.CategoryWords` which tag names which class ("jeans" ->
lower_body), so the tagged-only photos' tags act as their annotations.  Validation photos
never become products, so labels measured on them come from other photos.

Tested in ``tests/test_datasets.py``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from lens.boxes import Box
from lens.datasets.common import write_jsonl

PAD = 0.08              # the detector crops' context (detection.crop_pad): products look like crops
MIN_SIDE = 16           # px; the smallest crop the detection pipeline keeps (detection.crop_min_side)
JPEG_QUALITY = 92       # crops are re-encoded once; keep the artefacts below the embedder's notice


def _crop(rgb: np.ndarray, box: list[int]) -> np.ndarray | None:
    x1, y1, x2, y2 = Box(*box).pad(PAD).clip(rgb.shape[1], rgb.shape[0]).to_int()
    return rgb[y1:y2, x1:x2] if min(x2 - x1, y2 - y1) >= MIN_SIDE else None


def product_rows(row: dict, rgb: np.ndarray, folder: Path) -> list[dict]:
    """Save the garment crops of one masked photo's row into ``folder``; their manifest rows."""
    out = []
    for n, obj in enumerate(row.get("objects", [])):
        pixels = _crop(rgb, obj["box"])
        if pixels is None:
            continue
        name = f"{row['id']}-{n}.jpg"
        Image.fromarray(pixels).save(folder / name, quality=JPEG_QUALITY)
        out.append({"id": f"{row['id']}-{n}", "image": f"{folder.name}/{name}", "kind": "product",
                    "category": obj["category"], "title": ", ".join(obj["parts"]),
                    "source_photo": row["id"], "box": obj["box"]})
    return out


def write_products(rows: list[dict], out: Path, progress=lambda xs, **_: xs) -> int:
    """``out/products/*.jpg`` and ``out/products.jsonl`` from ``rows`` (masked photos); the count."""
    folder = out / "products"
    folder.mkdir(parents=True, exist_ok=True)
    products = []
    for row in progress(rows, desc="ccp products"):
        with Image.open(row["image"]) as im:
            products += product_rows(row, np.asarray(im.convert("RGB")), folder)
    write_jsonl(out / "products.jsonl", products)
    return len(products)
