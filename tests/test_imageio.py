"""Decoding: every mode and size in the issue's list, and every kind of bad file."""
import io

import numpy as np
import pytest
from PIL import Image

from lens.imageio import encode_jpeg, image_hash, load_image


def _bytes(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "LA", "P", "CMYK", "I;16", "I", "F", "1"])
def test_every_mode_becomes_rgb(mode):
    rgb = (np.arange(40 * 30 * 3) % 251).astype(np.uint8).reshape(30, 40, 3)
    if mode == "I;16":
        img = Image.fromarray(rgb[..., 0].astype(np.uint16) * 257)
        assert img.mode.startswith("I;16")
    else:
        img = Image.fromarray(rgb).convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "I;16", "I", "F") else "PNG"
    out = load_image(_bytes(img, fmt))
    assert out.shape == (30, 40, 3) and out.dtype == np.uint8


def test_alpha_is_flattened_on_white():
    img = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    assert load_image(_bytes(img))[0, 0].tolist() == [255, 255, 255]


def test_exif_orientation_is_honoured():
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6    # rotate 90 degrees clockwise to display
    out = load_image(_bytes(img, "JPEG", exif=exif.tobytes()))
    assert out.shape[:2] == (40, 20)


@pytest.mark.parametrize("size", [(1, 1), (5, 7), (3000, 20)])
def test_tiny_and_thin_images_load(size):
    assert load_image(_bytes(Image.new("RGB", size))).shape == (size[1], size[0], 3)


def test_corrupt_truncated_empty_and_text(tmp_path):
    good = encode_jpeg(np.full((64, 64, 3), 128, np.uint8))
    cases = {"truncated.jpg": good[: len(good) // 2], "empty.jpg": b"",
             "text.jpg": b"hello, not an image", "random.png": bytes(range(256)) * 4}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError, match=name):
            load_image(path)


def test_missing_file_named(tmp_path):
    with pytest.raises(ValueError, match="nope.jpg: no such image file"):
        load_image(tmp_path / "nope.jpg")


def test_decompression_bomb_refused():
    data = _bytes(Image.new("L", (5000, 5000)))
    with pytest.raises(ValueError, match="exceeds the 1,000,000-pixel limit"):
        load_image(data, max_pixels=1_000_000)


def test_upload_name_in_error():
    with pytest.raises(ValueError, match="image 'cat.png'"):
        load_image(b"junk", name="image 'cat.png'")


def test_arrays_and_types():
    assert load_image(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)
    assert load_image(np.ones((4, 5, 3), np.float32)).max() == 255
    with pytest.raises(ValueError, match="shape"):
        load_image(np.zeros((4, 5, 2), np.uint8))
    with pytest.raises(TypeError):
        load_image(12345)


def test_hash_depends_on_pixels_and_shape():
    a = np.zeros((4, 4, 3), np.uint8)
    assert image_hash(a) == image_hash(a.copy())
    assert image_hash(a) != image_hash(np.zeros((2, 8, 3), np.uint8))


@pytest.mark.parametrize("image, reason", [
    ("a path", "invalid image: expected an H x W x 3 array, got str"),
    (np.zeros((40, 40, 5), np.uint8), "invalid image"), (np.zeros((0, 0, 3), np.uint8), "invalid image"),
    (np.zeros((20, 400, 3), np.uint8), "image too small (400x20; needs 32 px a side)"),
    (np.zeros((300, 300, 3), np.uint8), "image too large (0 MP; limit 0 MP)"),
])
def test_checked_rgb_answers_with_a_reason_instead_of_raising(image, reason):
    from lens.imageio import checked_rgb

    rgb, why = checked_rgb(image, max_pixels=50_000)
    assert rgb is None and why.startswith(reason), why


def test_checked_rgb_converts_like_load_image_and_is_uniform_sees_flat_images():
    from lens.imageio import checked_rgb, is_uniform

    grey16 = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16)
    for arr in (grey16, np.full((64, 64, 4), np.nan, np.float32), np.zeros((64, 64, 1), np.float64)):
        rgb, why = checked_rgb(arr)
        assert why == "" and rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
        assert np.array_equal(rgb, load_image(arr))
    assert is_uniform(np.zeros((50, 80, 3), np.uint8)) and is_uniform(np.full((3000, 20, 3), 255, np.uint8))
    assert not is_uniform(checked_rgb(grey16)[0])
