"""``make bench``'s ``embedding`` section: ImageNet MobileNetV2, EfficientNet-Lite0 and the unified
embedding side by side, float and binary (issue 21).

On the Grocery Store set under the data root (converted by ``lens data grocery`` into
``data/bench/real/grocery``, as the ``real photos`` section does):

* ``training``: ``lens train-embedding`` on the 81 catalog photos and the train split's in-store
  photos (products, categories), once: the checkpoint stays in ``data/bench/real/`` with the
  minutes it took and its held-out figures (``--retrain`` in ``bench/run.py`` is deleting it);
* ``grocery``: the validation in-store photos (never trained on) -> their product among the 81
  catalog photos, each embedder alone (``lens eval embedding``): top-1 / top-5, the binary
  index's codes by Hamming distance alone, ms per image;
* ``grocery lens``: the whole lens with ``embedder.name: unified`` (``lens eval retrieval``), as
  the ``real photos`` section measures it with MobileNetV2.

Skipped with a one-line note when the data is absent.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from lens.config import load_config
from lens.datasets import grocery
from lens.evaluation.embeddings import embedding_eval
from lens.evaluation.real_retrieval import real_retrieval_eval
from lens.learning.embedding import EmbeddingJob, train_embedding
from lens.models import ModelStore

GOALS = "unified top-1 >= 0.80, top-5 >= 0.95; binary (256 bits) within 0.02 of float top-1"


def trained(work: Path, models: ModelStore) -> tuple[Path, dict]:
    """The Grocery unified checkpoint (trained now if missing) and its training figures."""
    out, about = work / "grocery-unified.pt", work / "grocery-unified.json"
    if not (out.is_file() and about.is_file()):
        start = time.perf_counter()
        figures = train_embedding(EmbeddingJob([str(work / "grocery" / "catalog.jsonl"),
                                                str(work / "grocery" / "queries-train.jsonl")], str(out)),
                                  models, progress=False)
        last = figures["history"][-1]
        about.write_text(json.dumps({"minutes": round((time.perf_counter() - start) / 60, 1),
                                     "samples": figures["samples"], "views": figures["views"],
                                     **{k: v for k, v in last.items() if k.startswith("held-out")}}))
    return out, json.loads(about.read_text())


def bench_embedding(root: Path, work: Path) -> dict:
    if not (root / "grocery").is_dir():
        return {"skipped": f"no grocery under {root} (set LENS_REAL_DATA to the data root)"}
    work.mkdir(parents=True, exist_ok=True)
    grocery.convert(root / "grocery", work / "grocery")
    config = load_config("default")
    path, training = trained(work, ModelStore.from_config(config.models))
    overrides = [f"models.unified={path}"]
    config = load_config("default", overrides)
    catalog, queries = str(work / "grocery" / "catalog.jsonl"), str(work / "grocery" / "queries-val.jsonl")
    side = embedding_eval(config, catalog, queries, progress=False).figures
    out = {"goal": GOALS, **{f"training: {k}": v for k, v in training.items()}}
    for name in ("mobilenet_v2", "efficientnet_lite0", "unified"):
        out[f"grocery: {name}"] = side[name]
    lens = real_retrieval_eval(load_config("default", overrides + ["embedder.name=unified"]), catalog, queries,
                               workdir=str(work / "grocery-unified-index"), progress=False)
    out.update({f"grocery lens (unified): {k}": v for k, v in lens.items()
                if k.startswith(("visual", "lens", "queries"))})
    return out
