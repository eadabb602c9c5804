"""The one analysis step: what each named option runs, on stand-in models that record their calls."""
from __future__ import annotations

import numpy as np
import pytest

from lens.boxes import Box
from lens.imageio import image_hash
from lens.pipeline.analysis import INDEX_PRODUCT, INDEX_SCENE, LABEL, QUERY, Analyzer, working_copy
from lens.pipeline.bundle import ModelBundle
from lens.types import Detection
from lens.understanding import Understanding

FOUND = [Detection(Box(10, 10, 60, 120), "person", 0.9, "rcnn"), Detection(Box(20, 12, 40, 30), "face", 0.8, "faces"),
         Detection(Box(70, 70, 110, 110), "bag", 0.7, "rcnn")]


class Recorder:
    """Stand-in embedder, detector and understanding that record what they were given."""

    dim = 4

    def __init__(self):
        self.embedded, self.detected, self.understood = [], 0, []

    def embed_and_classify(self, images):
        self.embedded.append([im.shape for im in images])
        return np.eye(len(images), 4, dtype=np.float32), np.ones((len(images), 3), np.float32)

    def detect(self, rgb):
        self.detected += 1
        return list(FOUND)

    def understand(self, rgb, vector, logits, faces=None, people=True, image_key=None, persons=None):
        self.understood.append({"shape": rgb.shape, "faces": faces, "persons": persons, "people": people,
                                "key": image_key, "logits": logits is not None})
        return Understanding(rgb.shape[1], rgb.shape[0])


@pytest.fixture
def rig(models):
    r = Recorder()
    bundle = ModelBundle(models.config, embedder=r, detector=r.detect, understanding=r.understand)
    return r, Analyzer(bundle)


def _image(rig, h=128, w=160):
    return rig[1].decode(np.full((h, w, 3), 90, np.uint8))


def test_query_detects_embeds_once_and_hands_faces_and_people_to_the_understanding(rig):
    r, analyzer = rig
    (a,) = analyzer.analyze([_image(rig)], QUERY)
    assert r.detected == 1 and [c.label for c in a.crops] == ["bag"]          # faces and people are never crops
    assert len(r.embedded) == 1 and len(r.embedded[0]) == 2 and r.embedded[0][0] == (128, 160, 3)  # image + crop
    assert a.vector.shape == (4,) and a.crop_vectors.shape == (1, 4) and a.crop_logits.shape == (1, 3)
    assert len(r.understood) == 2                # the crop's may come first: it runs beside the image's
    whole, crop = sorted(r.understood, key=lambda u: u["people"] is False)
    assert [d.label for d in whole["faces"]] == ["face"] and [d.label for d in whole["persons"]] == ["person"]
    assert whole["key"] == image_hash(np.full((128, 160, 3), 90, np.uint8))
    assert crop["people"] is False and crop["logits"] is True and len(a.crop_understandings) == 1


def test_index_scene_hands_faces_and_people_over_as_a_query_and_understands_no_crop(rig):
    r, analyzer = rig
    (a,) = analyzer.analyze([_image(rig)], INDEX_SCENE)
    (whole,) = r.understood
    assert [d.label for d in whole["faces"]] == ["face"] and [d.label for d in whole["persons"]] == ["person"]
    assert a.crop_understandings == [] and len(a.crops) == 1


def test_index_product_is_not_detected(rig):
    r, analyzer = rig
    (a,) = analyzer.analyze([_image(rig)], INDEX_PRODUCT)
    assert r.detected == 0 and a.crops == [] and a.regions == []
    assert r.understood[0]["persons"] is None and a.vector is not None


def test_label_only_detects_and_crops(rig):
    r, analyzer = rig
    (a,) = analyzer.analyze([_image(rig)], LABEL)
    assert r.detected == 1 and len(a.crops) == 1 and r.embedded == [] and r.understood == []
    assert a.vector is None and a.understanding is None


def test_a_box_is_embedded_and_understood_alone(rig):
    r, analyzer = rig
    (a,) = analyzer.analyze([_image(rig)], QUERY, [Box(10, 20, 50, 80)])
    assert r.detected == 0 and a.crops == [] and r.embedded == [[(60, 40, 3)]]
    (u,) = r.understood
    assert u["shape"] == (60, 40, 3) and u["faces"] is None and u["persons"] is None and u["key"] is None


def test_one_embed_call_for_a_mixed_batch_and_nothing_for_an_empty_one(rig):
    r, analyzer = rig
    out = analyzer.analyze([_image(rig), _image(rig, 64, 64)], [INDEX_SCENE, INDEX_PRODUCT])
    assert len(r.embedded) == 1 and len(r.embedded[0]) == 3                    # scene, its crop, product
    assert len(out[0].crops) == 1 and out[1].crops == [] and r.detected == 1
    assert analyzer.analyze([], QUERY) == [] and len(r.embedded) == 1


def test_decode_makes_a_working_copy_and_hashes_the_original(rig):
    big = np.zeros((300, 600, 3), np.uint8)
    d = rig[1].decode(big, max_side=200)
    assert d.rgb.shape == (100, 200, 3) and d.factor == pytest.approx(1 / 3) and d.digest == image_hash(big)
    assert working_copy(big, 1000)[1] == 1.0
    with pytest.raises(ValueError, match="not a readable image"):
        rig[1].decode(b"not an image")
