"""The skin tone network (lens/understanding/skin_net.py): shapes, loading, training, the estimator's use."""
import numpy as np
import pytest

from lens.boxes import Box
from lens.understanding.skin_net import SIDE, SkinToneModel, build_net, face_crop, range_recall, train


def _colour_set(n_per: int = 6):
    """Face-sized crops of flat skin colours: MST 1 light ... MST 10 dark (a set a net can learn)."""
    from lens.synth.faces import mst_lab
    import cv2

    x, y = [], []
    for m in range(1, 11):
        lab = np.full((SIDE, SIDE, 3), mst_lab(m), np.float32)
        rgb = (np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), 0, 1) * 255).astype(np.uint8)
        x += [rgb] * n_per
        y += [m] * n_per
    return np.stack(x), np.array(y)


def test_net_and_crop_shapes():
    import torch

    assert build_net()(torch.zeros(2, 3, SIDE, SIDE)).shape == (2, 10)
    rgb = np.zeros((200, 300, 3), np.uint8)
    assert face_crop(rgb, Box(100, 50, 140, 100)).shape == (SIDE, SIDE, 3)
    assert face_crop(rgb, Box(280, 180, 310, 230)).shape == (SIDE, SIDE, 3)     # clipped at the edge
    with pytest.raises(ValueError, match="too small"):
        face_crop(rgb, Box(400, 400, 401, 401))


def test_loading_names_the_bad_file(tmp_path):
    import torch

    with pytest.raises(ValueError, match="no such file"):
        SkinToneModel.load(tmp_path / "missing.pt")
    torch.save({"net": {"weight": torch.zeros(3)}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a skin tone network"):
        SkinToneModel.load(tmp_path / "other.pt")


def test_training_learns_flat_colours_checkpoints_and_resumes(tmp_path):
    x, y = _colour_set()
    out = tmp_path / "net.pt"

    def stop_in_epoch_3(batches, desc):
        if desc.startswith("epoch 3/"):
            raise KeyboardInterrupt        # the run is killed: epochs 1-2 are on disk
        return batches

    with pytest.raises(KeyboardInterrupt):
        train(x, y, (x, y), out, epochs=10, batch=10, progress=stop_in_epoch_3)
    resumed = train(x, y, (x, y), out, epochs=10, batch=10, resume=True)
    assert [h["epoch"] for h in resumed] == list(range(1, 11))
    assert train(x, y, (x, y), out, epochs=10, resume=True) == resumed          # finished: nothing to do
    with pytest.raises(ValueError, match="finished at epoch 10"):
        train(x, y, (x, y), out, epochs=12, resume=True)
    model = SkinToneModel.load(out)
    recall = range_recall(model.probabilities(x), y)
    assert set(recall) == {1, 2, 3, 4} and np.mean(list(recall.values())) >= 0.5
    answers = model(np.tile(x[0], (2, 2, 1)), [Box(10, 10, 60, 60)])
    assert len(answers) == 1 and 1 <= answers[0][0] <= 10 and 0.0 <= answers[0][1] <= 1.0
    assert model(x[0], []) == []


def test_the_estimator_reads_confirmed_faces_with_the_network(tmp_path):
    import skimage.data
    import torch

    from lens.understanding.skin import SkinToneEstimator

    torch.save({"net": build_net().state_dict()}, tmp_path / "net.pt")
    tones = SkinToneEstimator(net=SkinToneModel.load(tmp_path / "net.pt"))(skimage.data.astronaut())
    assert len(tones) == 1 and tones[0].method == "face_net"     # an untrained net: a range or "not sure"
    assert tones[0].status == "ok" or tones[0].reason.startswith("not sure of the range")
