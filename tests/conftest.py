"""Shared fixtures: configs through the loader, a real redis-server, a small catalog."""
from __future__ import annotations

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


def isolated(tmp_path) -> list[str]:
    """Overrides that keep every path a test may write (catalog, trained heads) in tmp_path."""
    from lens.understanding.category_head import HEAD_FIELDS

    return [f"catalog.path={tmp_path / 'catalog'}", "text.model=none",   # BM25 only: no 10-20 s MiniLM load
            *(f"models.{key}={tmp_path / (key + '.pt')}" for key in HEAD_FIELDS.values())]


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
    """The session's model bundle (the demo config without its trained detector or heads): every
    fixture and factory below shares its parts, so each model loads once per test session."""
    from lens.config import load_config
    from lens.pipeline.bundle import ModelBundle

    return ModelBundle(load_config("demo", ["models.detector_checkpoint=", "models.category_head=",
                                            "models.pattern_head=", "catalog.path=unused"]))


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
