"""Decoding images safely into one in-memory form.

Every entry point (CLI, API, indexing, jobs) calls :func:`load_image`, which
returns an ``H x W x 3`` ``uint8`` RGB array (values 0-255).  It honours EXIF
orientation, flattens alpha onto white (product photos' usual background),
converts palette, grayscale, CMYK and 16-bit images, checks the content (not
the file name) and refuses decompression bombs.  Errors are ``ValueError``
with one line naming the source.

For estimators that must answer rather than raise (skin tone, body type,
people), :func:`checked_rgb` does the same array conversion and returns a
one-line reason instead; :func:`is_uniform` and ``MIN_SIDE`` are the shared
"nothing to measure" checks.
"""
from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import Union

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lens.pixels import per_image

ImageSource = Union[str, os.PathLike, bytes, np.ndarray, Image.Image]

# 100 megapixels: above the largest camera sensors (query understanding must
# accept over 50 MP); anything larger is treated as a decompression bomb.
DEFAULT_MAX_PIXELS = 100_000_000
MIN_SIDE = 32            # the bad-input bound: a smaller image holds no face or person to measure
UNIFORM_STD = 2.0        # grey levels: a 64-px copy this flat is one colour (all black, all white...)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def _describe(source: ImageSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, bytes):
        return f"<{len(source)} bytes>"
    return f"<{type(source).__name__}>"


def _open(source: ImageSource, max_pixels: int, name: str) -> Image.Image:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"{name}: no such image file")
        data = path.read_bytes()
    else:
        data = source
    if not data:
        raise ValueError(f"{name}: empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > max_pixels:
                raise ValueError(f"{name}: {img.width}x{img.height} exceeds the "
                                 f"{max_pixels:,}-pixel limit")
            img.load()
    except ValueError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise ValueError(f"{name}: not a readable image ({type(exc).__name__})") from None
    except (OSError, SyntaxError, EOFError) as exc:
        raise ValueError(f"{name}: corrupt or truncated image ({exc})") from None
    return img


def to_rgb(img: Image.Image) -> np.ndarray:
    """Any PIL mode -> ``H x W x 3`` uint8 RGB; alpha is composited on white."""
    img = ImageOps.exif_transpose(img) or img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = arr.max() if arr.size else 1.0
        scale = 255.0 / (65535.0 if hi > 255 else 255.0)
        img = Image.fromarray(np.clip(arr * scale, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        arr = arr / arr.max() * 255.0 if arr.size and arr.max() > 1.0 else arr * 255.0
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def load_image(source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS,
               name: str | None = None) -> np.ndarray:
    """Decode ``source`` (path, bytes, PIL image or array) to ``H x W x 3`` uint8 RGB.

    Raises ``ValueError`` naming the source (or ``name``, e.g. an upload's
    file name) when it is missing, empty, corrupt, truncated, not an image,
    or larger than ``max_pixels``.
    """
    name = name or _describe(source)
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    if isinstance(source, Image.Image):
        if source.width * source.height > max_pixels:
            raise ValueError(f"<image>: {source.width}x{source.height} exceeds the "
                             f"{max_pixels:,}-pixel limit")
        return to_rgb(source)
    if not isinstance(source, (str, os.PathLike, bytes)):
        raise TypeError(f"cannot read an image from {type(source).__name__}")
    img = _open(source, max_pixels, name)
    try:
        return to_rgb(img)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{name}: cannot convert image ({exc})") from None


def checked_rgb(image, max_pixels: int | None = None) -> tuple[np.ndarray | None, str]:
    """``(H x W x 3 uint8 RGB, "")`` from any image array (as :func:`load_image`), or ``(None, reason)``.

    Never raises: not an array, not an image layout, a side under ``MIN_SIDE``
    or more than ``max_pixels`` give a one-line reason.
    """
    if not isinstance(image, np.ndarray):
        return None, f"invalid image: expected an H x W x 3 array, got {type(image).__name__}"
    try:
        rgb = _array_to_rgb(image)
    except ValueError as exc:
        return None, f"invalid image: {exc}"
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        return None, f"image too small ({w}x{h}; needs {MIN_SIDE} px a side)"
    if max_pixels and h * w > max_pixels:
        return None, f"image too large ({h * w / 1e6:.0f} MP; limit {max_pixels / 1e6:.0f} MP)"
    return rgb, ""


def is_uniform(rgb: np.ndarray) -> bool:
    """True when ``rgb`` (H x W x 3 uint8) is one flat colour (std of a 64-px copy < ``UNIFORM_STD``)."""
    def uniform() -> bool:
        h, w = rgb.shape[:2]
        small = cv2.resize(rgb, (min(w, 64), min(h, 64)), interpolation=cv2.INTER_AREA)
        return float(small.std()) < UNIFORM_STD

    return per_image(rgb, "uniform", uniform)   # asked three times of a query's photo


def _array_to_rgb(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image array of shape {arr.shape}: expected HxW, HxWx3 or HxWx4")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating):
            arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
        if np.issubdtype(arr.dtype, np.floating) and arr.max(initial=0) <= 1.0:
            arr = arr * 255.0
        elif arr.dtype == np.uint16:
            arr = arr / 257.0
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.shape[2] == 4:
        return to_rgb(Image.fromarray(arr, "RGBA"))
    return np.ascontiguousarray(arr)


def image_hash(rgb: np.ndarray) -> str:
    """A content hash of decoded pixels (shape included), for caches and ids."""
    h = hashlib.sha1(str(rgb.shape).encode())
    h.update(np.ascontiguousarray(rgb).tobytes())
    return h.hexdigest()


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def encode_jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def check_output_image(path: str | Path) -> Path:
    """``path`` as a Path if an image can be written there (suffix, folder), else ``ValueError``."""
    path = Path(path)
    if path.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp"):
        raise ValueError(f"{path}: unsupported image suffix (use .jpg, .png or .webp)")
    if not path.parent.is_dir():
        raise ValueError(f"{path}: folder {path.parent} does not exist")
    return path


def save_image(rgb: np.ndarray, path: str | Path) -> Path:
    """Write ``rgb`` (H x W x 3 uint8) to ``path``; the suffix picks the format (.jpg, .png, .webp)."""
    path = check_output_image(path)
    options = {} if path.suffix.lower() == ".png" else {"quality": 92}
    Image.fromarray(rgb).save(path, **options)
    return path
