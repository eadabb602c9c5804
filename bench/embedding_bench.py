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
  the ``real photos`` section measures it with MobileNetV2;
* ``synthetic``: a unified model trained on the bench's synthetic catalog (seed 0: 1,000 products,
  their 1,079 scene crops; once, into ``data/bench/``), against MobileNetV2, on a catalog of
  products it never saw (seed 1: 200 products, 60 scenes; ``lens -c demo eval retrieval``):
  top-1, crop recall@10, object recall@20.

Skipped with a one-line note when the data is absent.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lens.config import load_config
from lens.datasets import grocery
from lens.evaluation.commands import add_retrieval_arguments
from lens.evaluation.embeddings import embedding_eval
from lens.evaluation.retrieval import retrieval_command
from lens.evaluation.real_retrieval import real_retrieval_eval
from lens.learning.embedding import EmbeddingJob, train_embedding
from lens.models import ModelStore

GOALS = ("Grocery: unified top-1 >= 0.80, top-5 >= 0.95; binary (256 bits) within 0.02 of float top-1; "
         "synthetic products never seen: top-1 >= 0.98, object recall@20 >= 0.95")
UNSEEN = ["--products", "200", "--scenes", "60", "--seed", "1"]     # lens eval retrieval's own defaults


def trained(job: EmbeddingJob, models: ModelStore) -> tuple[Path, dict]:
    """The job's checkpoint (trained now if missing) and its training figures (kept beside it)."""
    out, about = Path(job.out), Path(job.out).with_suffix(".json")
    if not (out.is_file() and about.is_file()):
        start = time.perf_counter()
        figures = train_embedding(job, models, progress=False)
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
    path, training = trained(EmbeddingJob([str(work / "grocery" / "catalog.jsonl"),
                                           str(work / "grocery" / "queries-train.jsonl")],
                                          str(work / "grocery-unified.pt")), ModelStore.from_config(config.models))
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
    return {**out, **bench_synthetic(work.parent)}


def bench_synthetic(bench: Path) -> dict:
    """Unified (trained on the bench catalog) vs MobileNetV2 on synthetic products never seen."""
    synth = bench / "synth-p1000-s300"
    if not (synth / "manifest.jsonl").is_file():
        return {"synthetic": f"skipped: no {synth} (a full make bench makes it)"}
    path, training = trained(EmbeddingJob([str(synth)], str(bench / "synth-unified.pt"), catalog_views=8),
                             ModelStore.from_config(load_config("demo").models))
    parser = argparse.ArgumentParser()        # the command's own arguments: the same catalog and figures
    add_retrieval_arguments(parser)
    hermetic = ["models.category_head=", "models.pattern_head="]
    out = {f"synthetic training: {k}": v for k, v in training.items()}
    for name, over in (("mobilenet_v2", ["embedder.name=mobilenet_v2"]),      # the demo config runs on unified
                       ("unified", ["embedder.name=unified", f"models.unified={path}"])):
        figures = retrieval_command(parser.parse_args(UNSEEN), load_config("demo", hermetic + over)).figures
        out[f"synthetic unseen: {name}"] = {k: figures[k] for k in ("top-1", "crop recall@10", "object recall@20")}
    return out
