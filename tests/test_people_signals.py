"""Skin tone and body type wired through understanding, the façade, the store and the API."""
import io

import cv2
import numpy as np
import pytest
import skimage.data

from lens.config import UnderstandingConfig
from lens.models import ModelStore
from lens.pipeline.indexing import signals, summarize
from lens.understanding import QueryUnderstanding

SKIN_KEYS = {"status", "reason", "mst", "range", "ita", "lab", "confidence", "face_box", "method", "pixels"}


@pytest.fixture(scope="module")
def understanding():
    return QueryUnderstanding.from_config(UnderstandingConfig(body_type=True), None, ModelStore())


def test_body_type_is_on_by_default_and_can_be_switched_off():
    from lens.understanding.body import BodyTypeEstimator

    assert isinstance(QueryUnderstanding.from_config(UnderstandingConfig(), None, ModelStore()).body,
                      BodyTypeEstimator)
    assert QueryUnderstanding.from_config(UnderstandingConfig(body_type=False), None, ModelStore()).body is None


def test_real_face_gets_a_skin_tone_and_no_identity_data(understanding):
    result = understanding(skimage.data.astronaut())
    (tone,) = result.skin_tones
    assert tone["status"] == "ok" and tone["range"] in (1, 2, 3, 4) and 1 <= tone["mst"] <= 10
    assert set(tone) <= SKIN_KEYS                        # no landmarks, crops or embeddings
    assert result.body_types and all(b["status"] == "unknown" and b["range"] is None
                                     and "torso not fully visible" in b["reason"] for b in result.body_types)


def test_crops_and_photos_without_people_abstain(understanding):
    crop = understanding(skimage.data.astronaut(), people=False)     # a crop: people are not measured
    assert crop.skin_tones == [] and crop.body_types == [] and crop.colors
    result = understanding(skimage.data.coffee())                    # a photo: one abstention each
    assert [(t["status"], t["reason"], t["range"]) for t in result.skin_tones] == [("unknown", "no face", None)]
    assert [(b["status"], b["reason"], b["range"]) for b in result.body_types] == [("unknown", "no person", None)]


def test_stored_signals_keep_ranges_and_drop_abstentions(understanding):
    stored = summarize(understanding(skimage.data.astronaut()))
    assert stored["signals"]["skin_tone_ranges"] == [stored["skin_tones"][0]["range"]]
    assert stored["signals"]["body_type_ranges"] == []
    assert signals({"skin_tones": [{"status": "unknown", "range": None}], "colors": []}) == {
        "skin_tone_ranges": [], "body_type_ranges": [], "colors": []}


def test_facade_reports_face_boxes_in_original_pixels(lens_factory):
    lens = lens_factory()
    big = cv2.resize(skimage.data.astronaut(), (3072, 3072))      # worked on at 2048 px
    tone = lens(big).understanding["skin_tones"][0]
    assert tone["status"] == "ok"
    assert tone["face_box"] == pytest.approx([1042, 407, 1666, 1030], abs=40)


def test_api_returns_skin_tone(lens_factory):
    from lens.imageio import encode_jpeg
    from web.app import create_app

    lens = lens_factory()
    client = create_app(lens=lens).test_client()
    body = client.post("/api/v1/lens", data={"image": (io.BytesIO(encode_jpeg(skimage.data.astronaut())),
                                                       "a.jpg")}).get_json()
    assert body["understanding"]["skin_tones"][0]["range"] in (1, 2, 3, 4)


def test_index_time_understanding_measures_the_detected_people(tmp_path, models):
    """Scenes are detected before they are understood, for body type; product photos are not."""
    from lens.pipeline.bundle import ModelBundle
    from lens.boxes import Box
    from lens.pipeline.indexing import IndexMapper
    from lens.types import Detection
    from lens.understanding import Understanding

    class Embedder:
        dim = 4

        def embed_and_classify(self, images):
            return np.zeros((len(images), 4), np.float32), None

        def embed(self, images):
            return np.zeros((len(images), 4), np.float32)

    calls = []

    def understand(rgb, vector, logits, faces=None, persons=None, **kw):
        calls.append((faces, persons))
        return Understanding(rgb.shape[1], rgb.shape[0])

    found = [Detection(Box(10, 10, 60, 120), "person", 0.9, "rcnn"), Detection(Box(20, 12, 40, 30), "face", 0.8, "faces"),
             Detection(Box(70, 70, 110, 110), "bag", 0.7, "rcnn")]
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.full((128, 128, 3), 90, np.uint8))
    mapper = IndexMapper.from_models(ModelBundle(models.config, embedder=Embedder(), understanding=understand,
                                                 detector=lambda rgb: found))
    batch = mapper([{"id": "s1", "kind": "scene", "image": str(path)},
                    {"id": "p1", "kind": "product", "image": str(path)}])
    (faces, persons), (p_faces, p_persons) = calls
    assert [d.label for d in faces] == ["face"] and [d.label for d in persons] == ["person"]   # as a query
    assert p_faces is None and p_persons is None            # products: no detection, the estimators look
    assert len(batch.records[0]["crops"]) >= 1 and "crops" not in batch.records[1]


def test_facade_measures_the_detectors_people_for_body_type(lens_factory):
    """Scene 4: a wide 'full' figure the segmentation misses and the (synthetic) R-CNN finds."""
    from lens.pipeline.facade import Lens
    from lens.synth.scene import render_scene

    img, rec = render_scene(0, 4, 24)
    rgb = (img * 255 + 0.5).astype(np.uint8)
    assert rec["people"][0]["body_type"] == "full"
    from lens.pipeline.bundle import ModelBundle

    # the demo config's R-CNN: the synthetic checkpoint, which has a person class
    with_people = lens_factory("models.detector_checkpoint=detection/checkpoints/synthetic_mnv2_fpn.pt")
    detector = with_people.detector

    def without_people(image):
        return [d for d in detector(image) if d.label != "person"]

    assert [b["name"] for b in with_people(rgb).understanding["body_types"] if b["status"] == "ok"] == ["full"]
    with_people.understanding._cache.clear()
    blind = Lens(with_people.config, ModelBundle(with_people.config, reuse=with_people.models, detector=without_people),
                 with_people.catalog)
    assert blind.understanding is with_people.understanding
    assert [(b["status"], b["reason"]) for b in blind(rgb).understanding["body_types"]] == [
        ("unknown", "no person")]
