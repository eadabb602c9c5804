"""Torch models on onnxruntime: exported once into a cache folder, then run by a CPU session.

Measured on 2 cores (issue 22): ImageNet MobileNetV2 on a batch of 10 crops at 224 px takes
202 ms in eager torch, 130 ms with channels-last and 50 ms on onnxruntime with its graph
optimisations (the vectors agree within 1e-5), so the embedders run here by default
(``embedder.runtime``).  A graph is exported by torch's TorchScript exporter (``dynamo=False``)
with a dynamic batch axis, written atomically to ``<cache>/<name>-<digest>.onnx`` (:func:`graph_path`:
the digest is of the module's weights, so new weights export afresh), and loaded once a process.

:class:`OnnxModel` is what callers hold: ``model(x)`` -> the graph's outputs as numpy arrays.
``threads``: onnxruntime's intra-op threads (0 = its default, one per core); serving processes
set it from the core count (:func:`lens.threads.per_process`).  ``int8``: the exported graph's
matrix products get int8 weights (:func:`quantize`, onnxruntime's dynamic quantization) before
the session loads it; a caller measures that its outputs hold (the detector's box head:
``detection.quantize``).

Tested in ``tests/test_embeddings.py`` (torch and onnxruntime give the same vectors) and
``tests/test_rcnn.py`` (an int8 graph).
"""
from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import onnxruntime as ort

from lens.files import atomic_write

log = logging.getLogger(__name__)
RUNTIMES = ("onnx", "torch")
OPSET = 17                  # what the MiniLM and detector exports use; onnxruntime 1.16+ runs it
_SESSIONS: dict[tuple[str, int], ort.InferenceSession] = {}
_LOCK = threading.Lock()


def state_digest(module) -> str:
    """12 hex digits over a torch module's parameters and buffers (names, shapes, bytes): the
    graph's name changes whenever the weights do."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode() + repr(tuple(tensor.shape)).encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def graph_path(cache_dir: str | Path, stem: str, module) -> Path:
    """Where ``module``'s graph lives: ``<cache_dir>/<stem>-<state digest>.onnx`` (a per-user
    temporary folder when ``cache_dir`` is empty)."""
    return Path(cache_dir or tempfile.gettempdir()) / f"{stem}-{state_digest(module)}.onnx"


def check_runtime(runtime: str, key: str = "embedder.runtime") -> str:
    """``runtime`` when valid, else ``ValueError`` naming ``key`` and the valid ones."""
    if runtime not in RUNTIMES:
        raise ValueError(f"{key} '{runtime}': expected one of {', '.join(RUNTIMES)}")
    return runtime


def export(module, sample, path: str | Path, outputs: Sequence[str], spatial: bool = False) -> Path:
    """Write ``module`` (a torch ``nn.Module`` in eval mode taking one ``(N, ...)`` float32 tensor
    like ``sample``) to ``path``: input ``x``, the named outputs, the batch axis dynamic
    (``spatial``: the height and width axes of 4-d input and outputs too)."""
    # deferred: torch takes seconds; a process whose graph is already exported never needs it
    import torch

    dims = {0: "n", 2: "h", 3: "w"} if spatial else {0: "n"}
    axes = {"x": dims, **{name: {0: "n", **({2: f"{name}_h", 3: f"{name}_w"} if spatial else {})}
                          for name in outputs}}

    def write(fh):
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")        # tracer notes on shape arithmetic: not ours
            torch.onnx.export(module, (sample,), fh, dynamo=False, opset_version=OPSET,
                              input_names=["x"], output_names=list(outputs), dynamic_axes=axes)

    path = atomic_write(path, write, durable=False)        # re-exported from the weights if lost
    log.info("exported %s", path)
    return path


class _DropRecords(logging.Filter):
    """Drops records logged from a file under ``part`` (onnxruntime's quantizer advises on the
    root logger, once a graph: not a user's concern)."""

    def __init__(self, part: str):
        super().__init__()
        self.part = part

    def filter(self, record: logging.LogRecord) -> bool:
        return self.part not in record.pathname.replace("\\", "/")


def quantize(source: str | Path, path: str | Path) -> Path:
    """Write ``source``'s graph to ``path`` (atomically) with int8 weights on its MatMul and Gemm
    nodes, one scale per output channel, activations quantized on each run (onnxruntime's
    dynamic quantization: on AVX-512 VNNI cores its integer products run ~3x faster)."""
    # deferred: the quantizer pulls in onnx; only a process exporting a graph needs it
    from onnxruntime.quantization import QuantType, quantize_dynamic

    drop, root = _DropRecords("onnxruntime/quantization"), logging.getLogger()
    root.addFilter(drop)
    for handler in root.handlers:
        handler.addFilter(drop)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "int8.onnx"
            quantize_dynamic(str(source), str(out), weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul", "Gemm"])
            return atomic_write(path, lambda fh: fh.write(out.read_bytes()), durable=False)
    finally:
        root.removeFilter(drop)
        for handler in root.handlers:
            handler.removeFilter(drop)


def session(path: str | Path, threads: int = 0) -> ort.InferenceSession:
    """One onnxruntime CPU session per graph and thread count in this process."""
    key = (str(path), int(threads))
    with _LOCK:
        if key not in _SESSIONS:
            options = ort.SessionOptions()
            options.log_severity_level = 3               # notes on unused initialisers: noise
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads = int(threads)
            # no spin-waiting after a run: torch and numpy work follows on the same few cores
            # (the detector's RPN after its backbone: 125 -> 85 ms with spinning off, 2 cores)
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            _SESSIONS[key] = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return _SESSIONS[key]


class OnnxModel:
    """A torch module's graph on onnxruntime, exported on first use; see the module docstring.

    ``build()`` returns the torch module (called only when the graph is not on disk yet),
    ``sample`` an input of the right shape for the export."""

    def __init__(self, path: str | Path, build: Callable[[], object], sample: Callable[[], np.ndarray],
                 outputs: Sequence[str], threads: int = 0, spatial: bool = False, int8: bool = False):
        self.path, self.outputs, self.threads, self.spatial = Path(path), list(outputs), threads, spatial
        self.int8 = int8
        self.failed = False                     # set by run(): the caller's torch model answers from now on
        self._build, self._sample = build, sample
        self._session: ort.InferenceSession | None = None
        self._lock = threading.Lock()           # one export per process

    def _ready(self) -> ort.InferenceSession:
        with self._lock:
            if self._session is None:
                if not self.path.is_file():
                    import torch  # deferred with the export, as above

                    sample = torch.from_numpy(self._sample())
                    if not self.int8:
                        export(self._build(), sample, self.path, self.outputs, self.spatial)
                    else:   # the float graph in this process's own folder: workers export side by side
                        with tempfile.TemporaryDirectory() as tmp:
                            plain = export(self._build(), sample, Path(tmp) / "float.onnx", self.outputs, self.spatial)
                            quantize(plain, self.path)
                self._session = session(self.path, self.threads)
            return self._session

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        """The graph's outputs for ``x`` (float32, batch first)."""
        return self._ready().run(self.outputs, {"x": np.ascontiguousarray(x, np.float32)})

    def run(self, x: np.ndarray, what: str) -> list[np.ndarray] | None:
        """The graph's outputs, or None once its export or session has failed (one warning naming
        ``what``): the caller runs its torch module instead, from then on."""
        if self.failed:
            return None
        try:
            return self(x)
        except Exception as exc:   # export or runtime trouble: the caller's torch module still answers
            log.warning("%s on onnxruntime failed (%s: %s); using torch from now on", what, type(exc).__name__, exc)
            self.failed = True
            return None

    @property
    def runtime(self) -> str:
        """``onnx`` until :meth:`run` has failed, then ``torch``."""
        return "torch" if self.failed else "onnx"
