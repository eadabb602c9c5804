"""Training samples for the unified embedding, from what a catalog manifest has.

A :class:`Sample` is one image region (the whole photo, or a box in pixel x1, y1, x2, y2) with
a class name per task.  :func:`samples_from_items` reads them from manifest items:

* a product photo (``kind: product``, the default) is its own ``product`` class, with its
  ``category``, ``color`` and ``pattern`` fields as those tasks' classes;
* a scene's ``objects`` (``product_id`` and ``box``, e.g. ``lens synth``) are crops of those
  products, and a photo naming its ``product`` (e.g. ``lens data grocery``'s train photos) is
  a camera photo of it: both carry their product's labels, so clean catalog photos and camera
  photos share classes and batches (Shop The Look's setting);
* ``text-clusters``: the products' titles and descriptions embedded with MiniLM and clustered
  (:func:`text_clusters`), for catalogs without clean labels;
* engagement: a query photo with the item a user ``clicked`` or ``saved`` from it is one more
  camera photo of that item, and ``boards`` (a product's list of boards users saved it to) is a
  task whose classes are the boards: items saved to one board end up near each other (a product on
  several boards is one sample per board).

:func:`holdout` keeps a share of the camera photos out of training for the per-epoch report.
Tested in ``tests/test_learning.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TASKS = ("product", "category", "color", "pattern", "text-clusters", "boards")
# A camera photo names the product it shows; an engagement pair names the item a user clicked or
# saved from that photo (the query image): either teaches the product's class.
NAMES_PRODUCT = ("product", "clicked", "saved")
FIELDS = {"category": "category", "color": "color", "pattern": "pattern"}   # task -> item field
MIN_VISIBLE = 0.5       # a scene object mostly hidden behind another teaches the wrong pixels
MIN_CLUSTER = 5         # text clusters smaller than this are the long tail: merged into the nearest
                        # (5 photos: fewer give a proxy too few examples to place it)


@dataclass(frozen=True)
class Sample:
    image: str                                  # absolute path
    box: tuple[float, float, float, float] | None
    catalog: bool                               # a clean catalog photo (the gallery) or a camera photo
    labels: dict = field(default_factory=dict)  # task -> class name


def _product_labels(item: dict, tasks: tuple[str, ...], clusters: dict[str, str]) -> dict:
    labels = {"product": item["id"]} if "product" in tasks else {}
    for task, name in FIELDS.items():
        if task in tasks and isinstance(item.get(name), str) and item[name]:
            labels[task] = item[name]
    if "text-clusters" in tasks and item["id"] in clusters:
        labels["text-clusters"] = clusters[item["id"]]
    return labels


def samples_from_items(items: list[dict], tasks: tuple[str, ...], clusters: dict[str, str] | None = None,
                       source: str = "manifest") -> tuple[list[Sample], dict]:
    """``(samples, skipped counts)``; ``ValueError`` names an unknown task or a missing image."""
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"--tasks {', '.join(unknown)}: unknown (valid: {', '.join(TASKS)})")
    products = {i["id"]: i for i in items if i.get("kind", "product") == "product"
                and not any(k in i for k in NAMES_PRODUCT)}
    labels = {pid: _product_labels(item, tasks, clusters or {}) for pid, item in products.items()}
    samples, skipped = [], {"unknown product": 0, "hidden object": 0}
    for item in items:
        if not Path(item["image"]).is_file():
            raise ValueError(f"{source}: item '{item['id']}': image {item['image']} does not exist")
        shows = next((item[k] for k in NAMES_PRODUCT if k in item), None)
        if item["id"] in products:
            samples.extend(_with_boards(Sample(item["image"], None, True, labels[item["id"]]), item, tasks))
        elif shows is not None:
            if shows not in labels:
                skipped["unknown product"] += 1
                continue
            samples.append(Sample(item["image"], None, False, labels[shows]))
        for obj in item.get("objects") or []:
            if obj.get("product_id") not in labels:
                skipped["unknown product"] += 1
            elif float(obj.get("visible", 1.0)) < MIN_VISIBLE:
                skipped["hidden object"] += 1
            else:
                samples.append(Sample(item["image"], tuple(float(v) for v in obj["box"]), False,
                                      labels[obj["product_id"]]))
    return samples, skipped


def _with_boards(sample: Sample, item: dict, tasks: tuple[str, ...]) -> list[Sample]:
    """The product photo once per board it was saved to (``boards`` task), else once."""
    boards = [b for b in item.get("boards") or [] if isinstance(b, str) and b] if "boards" in tasks else []
    return [Sample(sample.image, sample.box, sample.catalog, {**sample.labels, "boards": b}) for b in boards] \
        or [sample]


def classes(samples: list[Sample], tasks: tuple[str, ...], source: str = "manifest") -> dict[str, list[str]]:
    """Task -> its sorted class names; ``ValueError`` when a task has fewer than two classes."""
    out = {}
    for task in tasks:
        names = sorted({s.labels[task] for s in samples if task in s.labels})
        if len(names) < 2:
            raise ValueError(f"{source}: task '{task}' has {len(names)} class(es) {names[:1]}; "
                             f"it needs at least 2 (drop it from --tasks)")
        out[task] = names
    return out


def text_clusters(items: list[dict], encoder, n: int = 0, seed: int = 0) -> dict[str, str]:
    """Product id -> a cluster of its title and description (MiniLM, k-means, long tail merged).

    ``n`` clusters (default: about the square root of the product count, the usual rule for
    k-means without a known k); clusters with fewer than :data:`MIN_CLUSTER` products are merged
    into their nearest (:func:`_merge_tail`).
    """
    import faiss  # deferred: FAISS loads native code; only text-cluster training needs it here

    products = [i for i in items if i.get("kind", "product") == "product" and not any(k in i for k in NAMES_PRODUCT)]
    texts = [" ".join(str(i.get(k, "")) for k in ("title", "description")).strip() for i in products]
    keep = [k for k, t in enumerate(texts) if t]
    if len(keep) < 2 * MIN_CLUSTER:
        raise ValueError(f"text-clusters: {len(keep)} products have a title or description; "
                         f"at least {2 * MIN_CLUSTER} are needed")
    x = encoder.encode([texts[k] for k in keep]).astype(np.float32)
    k = min(len(keep), n or max(2, int(round(np.sqrt(len(keep))))))
    # min_points_per_centroid=1: a small catalog is clustered without FAISS's sample-size warning
    km = faiss.Kmeans(x.shape[1], k, niter=25, seed=seed, spherical=True, verbose=False,
                      min_points_per_centroid=1)
    km.train(x)
    assign = _merge_tail(x, km.index.search(x, 1)[1][:, 0])
    if len(set(assign.tolist())) < 2:
        raise ValueError("text-clusters: the titles and descriptions fall into one cluster; "
                         "drop text-clusters from --tasks")
    return {products[j]["id"]: f"t{int(assign[r])}" for r, j in enumerate(keep)}


def _merge_tail(x: np.ndarray, assign: np.ndarray) -> np.ndarray:
    """Merge the smallest cluster into the one with the nearest centroid while any holds fewer than
    :data:`MIN_CLUSTER` and more than two remain: a split theme joins itself again."""
    assign = assign.copy()
    while True:
        live, sizes = np.unique(assign, return_counts=True)
        if len(live) <= 2 or sizes.min() >= MIN_CLUSTER:
            return assign
        centres = np.stack([x[assign == c].mean(0) for c in live])
        centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
        small = int(np.argmin(sizes))
        sims = centres @ centres[small]
        sims[small] = -np.inf
        assign[assign == live[small]] = live[int(np.argmax(sims))]


def holdout(samples: list[Sample], share: float = 0.1, seed: int = 0) -> np.ndarray:
    """A boolean mask of held-out samples: ``share`` of each product's camera photos.

    Catalog photos always train (they are what a camera photo is matched against); a product
    keeps at least one camera photo in training.
    """
    rng = np.random.default_rng(seed)
    held = np.zeros(len(samples), bool)
    by_product: dict[str, list[int]] = {}
    for k, s in enumerate(samples):
        if not s.catalog and "product" in s.labels:
            by_product.setdefault(s.labels["product"], []).append(k)
    for rows in by_product.values():
        n = int(np.floor(len(rows) * share + rng.random()))      # share on average, even for few photos
        held[rng.permutation(rows)[:min(n, len(rows) - 1)]] = True
    return held
