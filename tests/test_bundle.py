"""The model bundle: the one place models are built, each part once, shared where its inputs agree."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from lens.pipeline.bundle import PART_INPUTS, ModelBundle

ROOT = Path(__file__).resolve().parent.parent


def test_parts_build_on_first_use(models):
    fresh = ModelBundle(models.config, reuse=models)
    assert fresh.built() == []
    assert fresh.embedder is models.embedder and fresh.built() == ["embedder"]


def test_reuse_shares_parts_whose_inputs_agree_and_rebuilds_the_rest(models):
    c = models.config
    moved = dataclasses.replace(c, catalog=dataclasses.replace(c.catalog, path="elsewhere"))
    same = ModelBundle(moved, reuse=models)
    assert same.embedder is models.embedder and same.detector is models.detector
    assert same.understanding is models.understanding
    no_skin = dataclasses.replace(c, understanding=dataclasses.replace(c.understanding, skin_tone=False))
    other = ModelBundle(no_skin, reuse=models)
    assert other.embedder is models.embedder and other.detector is models.detector
    assert other.understanding is not models.understanding and other.understanding.skin is None
    assert models.understanding.skin is not None


def test_given_parts_are_used_and_unknown_parts_fail(models):
    def fake(rgb):
        return []

    bundle = ModelBundle(models.config, detector=fake)
    assert bundle.detector is fake and bundle.built() == ["detector"]
    with pytest.raises(TypeError, match="unknown parts \\['detecter'\\]"):
        ModelBundle(models.config, detecter=fake)


def test_the_estimators_are_the_understandings_own(models):
    assert models.understanding.skin is models.skin_tone and models.understanding.body is models.body_type
    assert models.object_detector is None            # the session's config has no Faster R-CNN


def test_a_query_segments_and_poses_its_image_once(models, monkeypatch):
    """The people detector and body type share the bundle's mediapipe graphs: one segmentation,
    one pose per candidate box and one face mesh per face, where each ran its own before (issue 22)."""
    import skimage.data

    import detection.pose as pose
    from lens.pipeline.analysis import QUERY, Analyzer

    calls = {"segment": 0, "pose": []}
    segment, by_roi = pose.segment_people, pose.pose_by_roi

    def counted_segment(seg, rgb):
        calls["segment"] += 1
        return segment(seg, rgb)

    def counted_pose(graph, rgb, box, retry=False):
        calls["pose"].append(tuple(box.as_list()))
        return by_roi(graph, rgb, box, retry)

    meshed, confirmed = [], pose.confirmed

    def counted_mesh(rgb, box):
        meshed.append(tuple(box.as_list()))
        return confirmed(rgb, box)

    monkeypatch.setattr(pose, "segment_people", counted_segment)
    monkeypatch.setattr(pose, "pose_by_roi", counted_pose)
    monkeypatch.setattr(pose, "confirmed", counted_mesh)
    people = [d for d in models.detector.detectors if type(d).__name__ == "PeopleDetector"][0]
    assert people._people is models.people_graphs is models.body_type._people
    analyzer = Analyzer(models)
    a = analyzer.analyze([analyzer.decode(skimage.data.astronaut()[:, :, :3].copy())], QUERY)[0]
    assert [d.label for d in a.regions].count("person") == 1 and a.understanding.body_types
    assert calls["segment"] == 1 and len(calls["pose"]) == len(set(calls["pose"])) >= 1
    assert len(meshed) == len(set(meshed))            # each face box meshed once for both


def test_every_part_names_its_inputs():
    assert set(PART_INPUTS) == {"embedder", "detector", "understanding", "skin_tone", "body_type", "people_graphs",
                                "completer"}


MODEL_BUILDERS = re.compile(r"\b(make_embedder|DetectionPipeline\.from_config|QueryUnderstanding\.from_config|"
                            r"SkinToneEstimator\.from_config|BodyTypeEstimator\.from_config|Completer\.load)\(")


def test_no_other_place_builds_the_query_models():
    """Only the bundle calls the builders of the query path's models (their own modules define them)."""
    callers = []
    for top in ("lens", "detection", "blender", "web", "jobs", "cli"):
        for path in (ROOT / top).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if MODEL_BUILDERS.search(line) and not line.lstrip().startswith(("def ", "#")):
                    callers.append(f"{rel}:{n}")
    allowed = {"lens/pipeline/bundle.py", "lens/understanding/__init__.py"}   # the bundle; understanding's fallback
    assert [c for c in callers if c.split(":")[0] not in allowed] == []


def test_the_bundle_is_what_the_lens_and_its_analysis_use(lens_factory, models):
    lens = lens_factory()
    assert lens.models.embedder is models.embedder and lens.analyzer.models is lens.models
    out = lens(np.full((64, 64, 3), 200, np.uint8))
    assert out.results == [] and set(out.timings_ms) >= {"decode", "detect", "embed", "understand"}
