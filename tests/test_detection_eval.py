"""`lens eval detection`: garment boxes of real CCP photos found by the crops, and the R-CNN's AP.

Runs on a few real photos converted by `lens data ccp` into tmp_path (skipped when
../shared/data is absent).
"""
from __future__ import annotations

import json
import os

import pytest

from cli.main import main
from lens.datasets import ccp
from lens.evaluation.detection import detection_eval
from lens.taxonomy import GARMENT_CLASSES
from tests.conftest import real_dataset


@pytest.fixture(scope="module")
def ccp_val(tmp_path_factory):
    """Photos 0001-0010 converted, 0005 and 0010 as the validation fold."""
    real = real_dataset("ccp")
    src = tmp_path_factory.mktemp("ccp")
    os.symlink(real / "label_list.mat", src / "label_list.mat")
    for sub in ("photos", "annotations/pixel-level"):
        (src / sub).mkdir(parents=True)
    for n in range(1, 11):
        os.symlink(real / "photos" / f"{n:04d}.jpg", src / "photos" / f"{n:04d}.jpg")
        os.symlink(real / "annotations" / "pixel-level" / f"{n:04d}.mat",
                   src / "annotations" / "pixel-level" / f"{n:04d}.mat")
    out = tmp_path_factory.mktemp("ccp-out")
    ccp.convert(src, out, fold=0, folds=5)
    return out / "val.json", src


def test_found_rates_and_timings_per_class(models, ccp_val):
    coco, images = ccp_val
    figures = detection_eval(models, str(coco), str(images), progress=False)
    assert figures["photos"] == 2
    truth = json.loads(coco.read_text())
    for name in GARMENT_CLASSES:
        n = sum(a["category_id"] == GARMENT_CLASSES.index(name) + 1 for a in truth["annotations"])
        assert figures[f"{name}: boxes"] == n
        if n:
            assert 0.0 <= figures[f"{name}: found by rcnn"] <= figures[f"{name}: found"] <= 1.0
        else:
            assert figures[f"{name}: found"] is None
    # the session's bundle has no Faster R-CNN: no AP, and every find is the people detector's
    assert "mAP@0.5" not in figures and figures["upper_body: found by rcnn"] in (0.0, None)
    assert figures["upper_body: found"] is not None and figures["upper_body: found"] > 0   # pose garments
    assert figures["detect ms median"] > 0


def test_a_coco_file_that_is_not_one_is_one_line(tmp_path, capsys):
    bad = tmp_path / "val.json"
    bad.write_text('{"images": []}')
    assert main(["eval", "detection", "--coco", str(bad), "--images", str(tmp_path)]) == 2
    assert "COCO file" in capsys.readouterr().err
