"""Body type on real bodies (lens/evaluation/real_body_type.py) and people-free photos
(lens/evaluation/people_free.py): figures per range, sets found or skipped, the command."""
import numpy as np
import pytest
from PIL import Image

from lens.evaluation.people_free import false_signals, people_free_photos
from lens.evaluation.real_body_type import body_figures


def _row(reference, pipeline, full_body=True, why=""):
    return {"photo": 0, "reference": reference, "why": why, "pipeline": pipeline, "full_body": full_body}


def test_body_figures_are_per_reference_range():
    rows = [_row(1, 1), _row(1, 2), _row(1, None), _row(3, 3), _row(None, 2, why="no pose"),
            _row(2, None, full_body=False)]
    f = body_figures(rows)
    assert f["range 1 slim: photos"] == 3 and f["range 1 slim: agreement"] == 0.5
    assert f["range 1 slim: pipeline abstains"] == pytest.approx(1 / 3, abs=1e-4)
    assert f["range 2 straight: agreement"] is None and f["range 2 straight: pipeline abstains"] == 1.0
    assert f["range 4 full: photos"] == 0 and f["range 4 full: agreement"] is None
    assert f["agreement where both give a range"] == pytest.approx(2 / 3, abs=1e-4)
    assert f["full-body photos"] == 5 and f["pipeline abstains on full-body photos"] == 0.2
    assert f["reference abstains"] == pytest.approx(1 / 6, abs=1e-4)
    assert f["reference abstains because"] == {"no pose": 1}


def test_body_figures_of_nothing():
    f = body_figures([])
    assert f["ccp photos"] == 0 and f["agreement where both give a range"] is None
    assert f["pipeline abstains on full-body photos"] is None and f["reference abstains"] is None


def test_people_free_sets_are_found_spread_and_skipped_when_absent(tmp_path):
    folder = tmp_path / "grocery" / "dataset" / "val" / "Fruit"
    folder.mkdir(parents=True)
    for i in range(5):
        Image.new("RGB", (40, 40), (10 * i, 0, 0)).save(folder / f"{i}.jpg")
    (folder / "notes.txt").write_text("not a photo")
    photos = people_free_photos(tmp_path, limit=3)
    assert list(photos) == ["Grocery in-store photos"]              # no clothing/ here: skipped
    assert [p.name for p in photos["Grocery in-store photos"]] == ["0.jpg", "2.jpg", "4.jpg"]
    assert people_free_photos(tmp_path / "nowhere") == {}
    f = false_signals(lambda rgb: rgb[0, 0, 0] > 15, photos, "body types", progress=False)
    assert f == {"Grocery in-store photos: photos": 3, "false body types, Grocery in-store photos": 0.6667}


def test_bad_data_root_is_one_line(tmp_path):
    from tests.test_cli import _error_line, run

    code, _, err = run("eval", "body-type", "--real", str(tmp_path / "missing"))
    assert code != 0 and "--real" in _error_line(err) and "missing" in _error_line(err)
    code, _, err = run("eval", "body-type", "--real", str(tmp_path))
    assert code != 0 and "holds none of" in _error_line(err)


def test_real_bodies_against_their_true_silhouettes():
    """A few CCP validation photos end to end (skipped without the data)."""
    from lens.config import LensConfig
    from lens.evaluation.real_body_type import real_body_type_eval
    from tests.conftest import REAL_DATA, real_dataset

    real_dataset("ccp")
    f = real_body_type_eval(LensConfig(), REAL_DATA, limit=6, progress=False)
    assert f["ccp photos"] == 6 and f["full-body photos"] >= 4          # CCP: street photos, head to feet
    assert sum(f[f"range {r} {n}: photos"] for r, n in
               ((1, "slim"), (2, "straight"), (3, "curvy"), (4, "full"))) >= 3
    assert 0.0 <= f["agreement where both give a range"] <= 1.0
    assert f.get("false body types, Grocery in-store photos", 0.0) <= 0.5
