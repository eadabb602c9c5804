"""``lens train-embedding``: the unified embedding trained on a catalog's manifests.

:func:`train_embedding` reads the manifests' samples (:mod:`lens.learning.samples`), holds out
a share of the camera photos, caches augmented views through the frozen stem
(:mod:`lens.learning.views`), trains the tail and one cosine head per task with the trainer
(:mod:`lens.learning.trainer`) and after each epoch reports, on the held-out photos: top-1 and
top-5 of their product among the catalog photos (float and sign-binarised vectors) and each
task's accuracy.  The checkpoint (:mod:`lens.unified`) is written atomically after each
epoch, with the optimizer beside it (``<out>.resume``) until the last epoch, for ``--resume``.

Tested in ``tests/test_learning.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lens.learning.samples import TASKS, Sample, classes, holdout, samples_from_items, text_clusters
from lens.learning.trainer import TrainSettings, epoch_saver, fit, resumed, proxy_task
from lens.learning.views import cache_views
from lens.manifest import read_items
from lens.models import ModelStore, load_state_dict
from lens.unified import CUT, DIM, build_net, save_checkpoint


@dataclass
class EmbeddingJob:
    manifests: list[str]
    out: str
    tasks: tuple[str, ...] = ("product", "category", "color", "pattern")
    views: int = 4            # augmented views per camera photo: Grocery's ~33 photos a product
    catalog_views: int = 16   # a product has one catalog photo: more views keep it in the batches
    holdout: float = 0.1      # of each product's camera photos, for the per-epoch report
    clusters: int = 0         # text-clusters: 0 = about sqrt(products)
    settings: TrainSettings = field(default_factory=TrainSettings)


def _items(manifests: list[str]) -> list[dict]:
    items, seen = [], {}
    for m in manifests:
        for item in read_items(m):
            if item["id"] in seen:
                raise ValueError(f"{m}: item id '{item['id']}' is also in {seen[item['id']]}")
            seen[item["id"]] = m
            items.append(item)
    return items


def _tasks_present(samples: list[Sample], tasks: tuple[str, ...]) -> tuple[str, ...]:
    """The requested tasks; the field tasks (category, colour, pattern) only where labelled."""
    present = tuple(t for t in tasks if t in ("product", "text-clusters") or any(t in s.labels for s in samples))
    # (field tasks and boards: only where some sample is labelled for them)
    if "product" not in present:
        raise ValueError("--tasks must include product: class-balanced batches are drawn over it")
    return present


def _label_arrays(samples, held, owner, names: dict[str, list[str]]) -> dict[str, np.ndarray]:
    out = {}
    for task, classes_ in names.items():
        index = {c: k for k, c in enumerate(classes_)}
        per_sample = np.array([-1 if h else index.get(s.labels.get(task), -1) for s, h in zip(samples, held)])
        out[task] = per_sample[owner]
    return out


def _evaluator(samples, held, views, names):
    """``evaluate(net)``: held-out top-1 / top-5 against the catalog photos, float and binary."""
    import torch  # deferred: torch takes seconds; only training evaluates

    plain = views.plain
    gallery = [v for v in np.flatnonzero(plain) if samples[views.sample[v]].catalog]
    queries = [v for v in np.flatnonzero(plain) if held[views.sample[v]]]
    g_labels = np.array([samples[views.sample[v]].labels["product"] for v in gallery])
    q_samples = [samples[views.sample[v]] for v in queries]

    def embed(net, rows):
        with torch.inference_mode():
            return torch.cat([net(torch.from_numpy(views.maps[rows[i:i + 128]].astype(np.float32)))
                              for i in range(0, len(rows), 128)])

    def evaluate(net) -> dict:
        if not queries or not gallery:
            return {}
        q, g = embed(net, queries), embed(net, gallery)
        truth = np.array([s.labels["product"] for s in q_samples])
        out = {}
        for kind, sims in (("", q @ g.T), ("binary ", torch.sign(q) @ torch.sign(g).T)):
            ranked = g_labels[np.argsort(-sims.numpy(), axis=1, kind="stable")]
            out[f"held-out {kind}top-1"] = round(float((ranked[:, 0] == truth).mean()), 4)
            out[f"held-out {kind}top-5"] = round(float((ranked[:, :5] == truth[:, None]).any(1).mean()), 4)
        for task, classes_ in names.items():
            known = [k for k, s in enumerate(q_samples) if s.labels.get(task) in classes_]
            if known and task != "product":
                pred = net.logits(q[known], task).argmax(1).numpy()
                out[f"held-out {task} accuracy"] = round(float(np.mean(
                    [classes_[p] == q_samples[k].labels[task] for p, k in zip(pred, known)])), 4)
        return out

    return evaluate, len(queries), len(gallery)


def train_embedding(job: EmbeddingJob, models: ModelStore, text_encoder=None, resume: bool = False,
                    progress: bool = True, on_epoch=None) -> dict:
    """Train, save and report; see the module docstring.  ``text_encoder``: for ``text-clusters``;
    ``on_epoch(row)``: each epoch's held-out figures as they come."""
    items = _items(job.manifests)
    source = ", ".join(job.manifests)
    clusters = text_clusters(items, text_encoder, job.clusters) if "text-clusters" in job.tasks else None
    samples, skipped = samples_from_items(items, job.tasks, clusters, source)
    tasks = _tasks_present(samples, job.tasks)
    held = holdout(samples, job.holdout, job.settings.seed)
    names = classes([s for s, h in zip(samples, held) if not h], tasks, source)
    stem, net = build_net(models.resolve("mobilenet_v2"), names, CUT, DIM)
    out, state = Path(job.out), resumed(job.out, resume)
    if state is not None:
        net.load_state_dict(state["state"])
    counts = np.where(held, 0, np.where([s.catalog for s in samples], job.catalog_views, job.views))
    views = cache_views(samples, stem, counts, seed=job.settings.seed, progress=progress)
    labels = _label_arrays(samples, held, views.sample, names)
    evaluate, n_queries, n_gallery = _evaluator(samples, held, views, names)
    meta = {"backbone": "mobilenet_v2", "cut": CUT, "dim": DIM, "temperature": job.settings.temperature,
            "tasks": names, "manifests": list(job.manifests)}

    history = fit(net, *proxy_task(views.maps, labels, "product", job.settings), job.settings,
                  epoch_saver(save_checkpoint, out, meta, job.settings.epochs), evaluate, state, progress, on_epoch)
    return {"samples": len(samples), "held out": n_queries, "catalog photos": n_gallery,
            "views": len(views.sample), "skipped": skipped,
            "classes": {t: len(c) for t, c in names.items()}, "history": history, "saved": str(out)}
