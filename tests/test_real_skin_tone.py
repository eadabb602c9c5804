"""Skin tone on real photos (lens/evaluation/real_skin_tone.py): perturbations, figures per
range, the mask the estimate measures, the command."""
import numpy as np
import pytest

from lens.boxes import Box
from lens.evaluation.real_skin_tone import PERTURBATIONS, _exposure, main_face, skin_figures
from lens.understanding.skin import SkinTone


def test_perturbations_keep_the_photo_and_change_it_as_named():
    rgb = np.random.default_rng(0).integers(30, 220, (64, 48, 3), dtype=np.uint8)
    out = {name: f(rgb) for name, f in PERTURBATIONS.items()}
    assert out["scale 0.5"].shape == (32, 24, 3)
    assert all(o.shape == rgb.shape and o.dtype == np.uint8 for n, o in out.items() if n != "scale 0.5")
    assert out["exposure -30%"].mean() < rgb.mean() < out["exposure +30%"].mean()
    assert np.abs(_exposure(rgb, 1.0).astype(int) - rgb).max() <= 1           # x1: unchanged
    assert np.abs(out["jpeg 95"].astype(int) - rgb).mean() < np.abs(out["jpeg 50"].astype(int) - rgb).mean()


def test_the_main_face_is_the_largest_with_a_range():
    small = SkinTone("ok", mst=3, range=1, face_box=[0, 0, 10, 10])
    large = SkinTone("ok", mst=8, range=4, face_box=[20, 20, 60, 60])
    abstained = SkinTone("unknown", reason="no body under the face", face_box=[0, 0, 100, 100])
    assert main_face([small, large, abstained]) == (4, Box(20, 20, 60, 60))
    assert main_face([abstained]) == (None, None) and main_face([]) == (None, None)


def _row(rng, same=True, mask=(0.9, 0.3), face=True):
    return {"range": rng, "face found": face, "same": {n: same for n in PERTURBATIONS} if rng else {},
            "mask": mask if rng else None}


def test_skin_figures_are_per_range():
    rows = [_row(1), _row(1, same=False), _row(3, mask=None), _row(None), _row(None, face=False)]
    f = skin_figures(rows)
    assert f["ccp photos"] == 5 and f["ccp photos with a range"] == 0.6 and f["ccp photos with a face found"] == 0.8
    assert f["range 1: photos"] == 2 and f["range 1: unchanged (all perturbations)"] == 0.5
    assert f["range 1: unchanged, jpeg 50"] == 0.5 and f["range 1: skin mask precision"] == 0.9
    assert f["range 3: skin mask precision"] is None and f["range 3: unchanged (all perturbations)"] == 1.0
    assert f["range 2: photos"] == 0 and f["range 2: unchanged (all perturbations)"] is None
    assert f["stability goal (>= 0.95 per range)"] == "NOT met"
    assert skin_figures([_row(2)])["stability goal (>= 0.95 per range)"] == "met"
    assert skin_figures([])["ccp photos with a range"] is None


def test_the_measured_mask_is_the_faces_cheeks_and_forehead():
    """The pixels the estimate measures (face_mask) sit inside the face, and match face_pixels."""
    import skimage.data

    from lens.types import Detection
    from lens.understanding.skin_faces import detect_faces, face_mask, face_pixels

    rgb = skimage.data.astronaut()
    face = max(detect_faces(rgb), key=lambda d: d.box.area)
    mask, method = face_mask(rgb, face)
    assert method == "face_mesh" and mask.shape == rgb.shape[:2] and mask.any()
    ys, xs = np.nonzero(mask)
    assert face.box.pad(0.2).x1 <= xs.min() and xs.max() <= face.box.pad(0.2).x2
    assert face.box.pad(0.2).y1 <= ys.min() and ys.max() <= face.box.pad(0.2).y2
    pixels, _ = face_pixels(rgb, face)
    assert abs(len(pixels) - mask.sum()) <= 0.5 * len(pixels)      # the same pixels, at the mesh's scale
    tiny, how = face_mask(rgb, Detection(Box(0, 0, 3, 3), "face", 1.0, "test"))
    assert not tiny.any() and how == "face_keypoints"


def test_bad_data_root_is_one_line(tmp_path):
    from tests.test_cli import _error_line, run

    code, _, err = run("eval", "skin-tone", "--real", str(tmp_path / "missing"))
    assert code != 0 and "--real" in _error_line(err)


def test_real_people_end_to_end():
    """A few CCP validation photos and people-free photos (skipped without the data)."""
    from lens.config import LensConfig
    from lens.evaluation.real_skin_tone import real_skin_tone_eval
    from tests.conftest import REAL_DATA, real_dataset

    real_dataset("ccp")
    f = real_skin_tone_eval(LensConfig(), REAL_DATA, limit=4, progress=False)
    assert f["ccp photos"] == 4 and f["ccp photos with a face found"] == 1.0
    assert f["ccp photos with a range"] >= 0.75
    rated = [r for r in (1, 2, 3, 4) if f[f"range {r}: photos"]]
    precision = [f[f"range {r}: skin mask precision"] for r in rated]
    assert rated and any(p is not None for p in precision)
    assert all(0.0 <= p <= 1.0 for p in precision if p is not None)
    assert f.get("false skin tones, Grocery in-store photos", 0.0) <= 0.25
