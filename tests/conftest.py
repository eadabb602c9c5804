"""Shared fixtures: configs through the loader, a real redis-server, a small catalog."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.servers import start_redis, stop

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
# The real-photo datasets (issue 19): the one place tests look for them; never copied into the repo.
REAL_DATA = Path(os.environ.get("LENS_REAL_DATA", ROOT.parent / "shared" / "data"))


def real_dataset(name: str) -> Path:
    """``REAL_DATA / name``, or skip the test saying where it looked."""
    path = REAL_DATA / name
    if not path.is_dir():
        pytest.skip(f"real dataset {name} not at {path} (set LENS_REAL_DATA to its parent folder)")
    return path


def ccp_converted(tmp_path_factory, photos: int) -> tuple[Path, Path]:
    """``(lens data ccp's output, its source)`` for CCP photos 1..``photos`` (linked, not copied);
    every fifth (0005, 0010, ...) is the validation fold."""
    from lens.datasets import ccp

    real = real_dataset("ccp")
    src = tmp_path_factory.mktemp("ccp")
    os.symlink(real / "label_list.mat", src / "label_list.mat")
    for sub in ("photos", "annotations/pixel-level"):
        (src / sub).mkdir(parents=True)
    for n in range(1, photos + 1):
        os.symlink(real / "photos" / f"{n:04d}.jpg", src / "photos" / f"{n:04d}.jpg")
        os.symlink(real / "annotations" / "pixel-level" / f"{n:04d}.mat",
                   src / "annotations" / "pixel-level" / f"{n:04d}.mat")
    out = tmp_path_factory.mktemp("ccp-out")
    ccp.convert(src, out, fold=0, folds=5)
    return out, src


# The tests' shared models use ImageNet MobileNetV2, not the demo's unified embedding: the
# generic tests lean on its ImageNet classes and on the relevance floor fitted to its cosines.
# The demo config as shipped (unified) runs end to end in test_e2e.py and test_cli.py.
IMAGENET = "embedder.name=mobilenet_v2"


def isolated(tmp_path, imagenet: bool = True) -> list[str]:
    """Overrides that keep every path a test may write (catalog, trained heads) in tmp_path;
    ``imagenet``: the shared ImageNet embedder too (else the config's own)."""
    from lens.understanding.category_head import HEAD_FIELDS

    return [f"catalog.path={tmp_path / 'catalog'}", "text.model=none",   # BM25 only: no 10-20 s MiniLM load
            *(f"models.{key}={tmp_path / (key + '.pt')}" for key in HEAD_FIELDS.values()),
            *([IMAGENET] if imagenet else [])]


def no_heads() -> list[str]:
    """CLI arguments that make a subprocess ignore any trained heads in the working tree."""
    from lens.understanding.category_head import HEAD_FIELDS

    return [arg for key in HEAD_FIELDS.values() for arg in ("--set", f"models.{key}=")]


@pytest.fixture
def config_factory(tmp_path):
    """``make(name="demo", *overrides)`` -> a LensConfig whose catalog and heads live in tmp_path."""
    from lens.config import load_config

    def make(name: str = "demo", *overrides: str):
        return load_config(name, [*isolated(tmp_path), *overrides])
    return make


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a free loopback port, stopped after the session."""
    try:
        proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield url
    stop(proc)


@pytest.fixture(scope="session")
def models():
    """The session's model bundle (the demo config without its trained detector or heads, on
    ImageNet MobileNetV2: ``IMAGENET``): every
    fixture and factory below shares its parts, so each model loads once per test session."""
    from lens.config import load_config
    from lens.pipeline.bundle import ModelBundle

    return ModelBundle(load_config("demo", ["models.detector_checkpoint=", "models.category_head=",
                                            "models.pattern_head=", "catalog.path=unused", IMAGENET]))


@pytest.fixture(scope="session")
def embedder(models):
    return models.embedder


@pytest.fixture(scope="session")
def small_catalog(tmp_path_factory):
    """A synthetic catalog (200 products, 60 scenes), generated once per session."""
    from lens.synth import generate_catalog

    out = tmp_path_factory.mktemp("synth")
    generate_catalog(out, products=200, scenes=60, seed=3, workers=2, progress=False)
    return out


def solid_image(color=(200, 30, 40), size=(120, 160), bg=(250, 250, 250)) -> np.ndarray:
    """A product-like test image: one coloured rectangle on a light background."""
    h, w = size
    img = np.full((h, w, 3), bg, np.uint8)
    img[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = color
    return img


@pytest.fixture(scope="session")
def detector(models):
    return models.detector


@pytest.fixture
def lens_factory(config_factory, models):
    """``make(*overrides, catalog_dir=None)`` -> a Lens over the session's models (a part is built
    anew only when an override changes what it is built from)."""
    from lens.pipeline.facade import Lens

    def make(*overrides: str, catalog_dir=None):
        config = config_factory("demo", "models.detector_checkpoint=", *overrides)
        return Lens.from_config(config, catalog_dir, models=models)
    return make


@pytest.fixture
def image_folder(tmp_path):
    """Six product-like images in six colours, as PNG files."""
    from PIL import Image

    from lens.palette import NAMED_COLORS, hex_to_rgb

    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("red", "navy", "green", "mustard", "pink", "teal"):
        Image.fromarray(solid_image(hex_to_rgb(NAMED_COLORS[name]))).save(folder / f"{name}.png")
    return folder


SHAPES = {"disc": "round", "ring": "round", "bar": "long", "cross": "long"}   # product -> category


def tiny_products(folder: Path, camera: int = 3, seed: int = 0) -> Path:
    """A 4-product catalog of drawn shapes for the embedding trainer: each product's clean photo
    on white (``kind: product``, a category and a colour) and ``camera`` photos of it on noisy
    backgrounds, shifted and scaled, that name their ``product``.  Returns the manifest."""
    import cv2

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    colours = {"disc": (200, 40, 40), "ring": (40, 40, 200), "bar": (40, 160, 40), "cross": (200, 160, 30)}

    def draw(shape, bg, scale, dx, dy):
        img = bg.copy()
        c, r, col = (48 + dx, 48 + dy), int(30 * scale), colours[shape]
        if shape in ("disc", "ring"):
            cv2.circle(img, c, r, col, -1 if shape == "disc" else 8)
        if shape in ("bar", "cross"):
            cv2.rectangle(img, (c[0] - r, c[1] - 6), (c[0] + r, c[1] + 6), col, -1)
        if shape == "cross":
            cv2.rectangle(img, (c[0] - 6, c[1] - r), (c[0] + 6, c[1] + r), col, -1)
        return img

    rows = []
    for shape, category in SHAPES.items():
        white = np.full((96, 96, 3), 250, np.uint8)
        save_png(folder / f"{shape}.png", draw(shape, white, 1.0, 0, 0))
        rows.append({"id": shape, "image": f"{shape}.png", "kind": "product", "category": category,
                     "color": "red" if shape in ("disc", "cross") else "other",
                     "title": f"{shape} {category}"})
        for k in range(camera):
            bg = rng.integers(60, 200, (96, 96, 3)).astype(np.uint8)
            img = draw(shape, bg, rng.uniform(0.7, 1.1), int(rng.integers(-8, 9)), int(rng.integers(-8, 9)))
            save_png(folder / f"{shape}-{k}.png", img)
            rows.append({"id": f"{shape}-{k}", "image": f"{shape}-{k}.png", "kind": "scene", "product": shape})
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest


def save_png(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(rgb).save(path)


@pytest.fixture(scope="session")
def unified_checkpoint(tmp_path_factory):
    """A unified embedding trained for 3 epochs on :func:`tiny_products` (~15 s)."""
    from lens.config import ModelsConfig
    from lens.learning.embedding import EmbeddingJob, train_embedding
    from lens.learning.trainer import TrainSettings
    from lens.models import ModelStore

    folder = tmp_path_factory.mktemp("unified")
    job = EmbeddingJob([str(tiny_products(folder / "data"))], str(folder / "unified.pt"),
                       ("product", "category", "color"), views=2, catalog_views=4, holdout=0.0,
                       settings=TrainSettings(epochs=3, classes_per_batch=4, per_class=4))
    figures = train_embedding(job, ModelStore(ModelsConfig()), progress=False)
    return {"path": folder / "unified.pt", "figures": figures, "manifest": folder / "data" / "manifest.jsonl"}
