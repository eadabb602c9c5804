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


def test_lightings_of_the_retoned_set():
    from lens.evaluation.retoned_ccp import LIGHTS, light

    grey = np.full((10, 40, 3), 128, np.uint8)
    out = {kind: light(grey, kind).astype(int) for kind in LIGHTS}
    assert (out["none"] == 128).all() and out["dim"].mean() < 100
    assert out["warm"][..., 0].mean() > out["warm"][..., 2].mean()
    assert out["cool"][..., 2].mean() > out["cool"][..., 0].mean()
    mixed = out["mixed"]
    assert mixed[:, 0, 0] .mean() > mixed[:, 0, 2].mean() and mixed[:, -1, 2].mean() > mixed[:, -1, 0].mean()
    with pytest.raises(ValueError, match="lighting 'disco'"):
        light(grey, "disco")


def test_retoned_set_moves_only_the_skin_to_each_monk_value():
    """One CCP validation person at MST 1 and 10 (skipped without the data)."""
    import cv2

    from lens.datasets.ccp import read_labels, read_mask
    from lens.datasets.common import Skipped
    from lens.evaluation.retoned_ccp import RetonedSet
    from lens.imageio import load_image
    from tests.conftest import REAL_DATA, real_dataset

    real_dataset("ccp")
    with pytest.raises(ValueError, match="split 'test'"):
        RetonedSet(REAL_DATA, "test")
    samples = RetonedSet(REAL_DATA, "val", msts=(1, 10), lights=("none",), limit=1)
    assert len(samples) == 2
    (light_rgb, m1, info), (dark_rgb, m10, _) = list(samples)
    assert (m1, m10) == (1, 10) and info["lighting"] == "none" and len(info["face_box"]) == 4
    photo, mask = read_mask(REAL_DATA / "ccp", info["photo"], Skipped())
    skin = mask == read_labels(REAL_DATA / "ccp" / "label_list.mat").index("skin")
    x1, y1, x2, y2 = Box(*info["face_box"]).to_int()
    face = np.zeros_like(skin)
    face[y1:y2, x1:x2] = skin[y1:y2, x1:x2]
    lightness = [np.median(cv2.cvtColor(x, cv2.COLOR_RGB2LAB)[..., 0][face]) for x in (light_rgb, dark_rgb)]
    assert lightness[0] > lightness[1] + 100             # 8-bit L*: MST 1 ~ 240, MST 10 ~ 60
    original = load_image(photo).astype(int)
    far = cv2.dilate(skin.astype(np.uint8), np.ones((9, 9), np.uint8)) == 0
    assert np.abs(light_rgb.astype(int) - original)[far].max() <= 1    # clothes and background untouched


def test_retoned_summary_checks_the_goal_per_lighting():
    from lens.evaluation.real_skin_tone import retoned_summary

    f = {"faces": 8, "exact_mst": 0.8, "within_one_mst": 0.95, "abstain_rate": 0.0,
         "ranges": {str(r): {"recall": 0.95} for r in (1, 2, 3, 4)},
         "range_recall_by_lighting": {"none": {"1": 0.95, "2": 0.93}, "dim": {"1": 0.92, "2": None}}}
    out = retoned_summary(f)
    assert out["re-toned: range 1 recall"] == 0.95 and out["re-toned: range recall, dim"] == {"1": 0.92, "2": None}
    assert [v for k, v in out.items() if "goal" in k] == ["met"]
    f["range_recall_by_lighting"]["dim"]["1"] = 0.85
    assert [v for k, v in retoned_summary(f).items() if "goal" in k] == ["NOT met"]
