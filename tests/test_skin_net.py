"""The skin tone network (lens/understanding/skin_net.py): shapes, loading, training, the estimator's use."""
import numpy as np
import pytest

from lens.boxes import Box
from lens.understanding.skin_net import ARCHS, SIDE, SkinToneModel, build_net, face_crop, range_recall, train


def _colour_set(n_per: int = 6):
    """Face-sized crops of flat skin colours, MST 1 light ... MST 10 dark, on a mid-grey ring of
    context (the light the exposure layer reads): a set a net can learn."""
    from lens.synth.faces import mst_lab
    import cv2

    x, y = [], []
    for m in range(1, 11):
        lab = np.full((SIDE, SIDE, 3), mst_lab(m), np.float32)
        rgb = (np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), 0, 1) * 255).astype(np.uint8)
        ring = np.full_like(rgb, 115)
        ring[14:-14, 14:-14] = rgb[14:-14, 14:-14]
        x += [ring] * n_per
        y += [m] * n_per
    return np.stack(x), np.array(y)


@pytest.mark.parametrize("arch", ARCHS)
def test_net_and_crop_shapes(arch):
    import torch

    assert build_net(arch)(torch.zeros(2, 3, SIDE, SIDE)).shape == (2, 10)
    with pytest.raises(ValueError, match="'resnet'.*context-exposure, plain"):
        build_net("resnet")


def test_the_exposure_layer_reads_the_skin_against_its_context():
    import torch

    layer = build_net("context-exposure")[0]
    x, _ = _colour_set(1)
    crops = torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255.0
    normal = layer(crops)
    for factor in (0.7, 1.3):          # the whole photo darker or brighter: the layer undoes it
        assert torch.allclose(layer(crops * factor), normal, atol=1e-5)
    centre = normal[:, :, 32, 32].mean(1)
    assert bool((centre[:-1] > centre[1:]).all())          # MST 1 ... 10 still light to dark
    black = layer(torch.zeros(1, 3, SIDE, SIDE))            # no light at all: the factor is clamped
    assert torch.isfinite(black).all() and float(black.max()) == 0.0
    assert not list(layer.parameters()) and not layer.state_dict()      # nothing to train or store
    noise = torch.rand(4, 3, SIDE, SIDE)
    luma = 0.299 * noise[:, 0] + 0.587 * noise[:, 1] + 0.114 * noise[:, 2]
    ring = torch.ones(SIDE, SIDE, dtype=torch.bool)
    ring[17:-17, 17:-17] = False                       # the face box inside the 0.6 padding
    median = luma[:, ring].median(dim=1).values        # the layer's TopK is torch's median, exactly
    assert torch.equal(layer(noise), noise * (0.45 / median).clamp(0.5, 2.0)[:, None, None, None])


@pytest.mark.parametrize("arch", ARCHS)
def test_the_network_runs_on_onnxruntime_with_torchs_answers(tmp_path, arch):
    import torch

    torch.manual_seed(0)
    torch.save({"net": build_net(arch).state_dict(), "arch": arch}, tmp_path / "net.pt")
    fast = SkinToneModel.load(tmp_path / "net.pt", str(tmp_path / "cache"))
    slow = SkinToneModel.load(tmp_path / "net.pt", runtime="torch")
    assert fast.graph is not None and slow.graph is None
    crops = np.random.default_rng(0).integers(0, 256, (3, SIDE, SIDE, 3), dtype=np.uint8)
    for mirror in (True, False):
        assert np.allclose(fast.probabilities(crops, mirror), slow.probabilities(crops, mirror), atol=1e-5)
    assert len(list((tmp_path / "cache").glob(f"skin-tone-{arch}-*.onnx"))) == 1
    with pytest.raises(ValueError, match="skin tone runtime 'tvm': expected one of onnx, torch"):
        SkinToneModel.load(tmp_path / "net.pt", runtime="tvm")


def test_net_and_crop_shapes_at_the_edge():
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
    torch.save({"net": build_net().state_dict(), "arch": "resnet"}, tmp_path / "unknown.pt")
    with pytest.raises(ValueError, match="unknown.pt: not a skin tone network"):
        SkinToneModel.load(tmp_path / "unknown.pt")


@pytest.mark.parametrize("arch", ARCHS)
def test_checkpoints_load_as_the_architecture_they_name(tmp_path, arch):
    import torch

    net = build_net(arch)
    torch.save({"net": net.state_dict(), "arch": arch}, tmp_path / "net.pt")
    loaded = SkinToneModel.load(tmp_path / "net.pt", runtime="torch").net
    assert type(loaded[0]).__name__ == ("ContextExposure" if arch != "plain" else "Sequential")
    if arch == "plain":         # a checkpoint of the first network, before "arch" was written
        torch.save({"net": net.state_dict()}, tmp_path / "old.pt")
        assert len(SkinToneModel.load(tmp_path / "old.pt", runtime="torch").net) == len(net)


@pytest.mark.parametrize("arch", ARCHS)
def test_training_learns_flat_colours_checkpoints_and_resumes(tmp_path, arch):
    x, y = _colour_set()
    out = tmp_path / "net.pt"

    def stop_in_epoch_3(batches, desc):
        if desc.startswith("epoch 3/"):
            raise KeyboardInterrupt        # the run is killed: epochs 1-2 are on disk
        return batches

    with pytest.raises(KeyboardInterrupt):
        train(x, y, (x, y), out, epochs=10, batch=10, progress=stop_in_epoch_3, arch=arch)
    other = next(a for a in ARCHS if a != arch)
    with pytest.raises(ValueError, match=f"a {arch} network, not {other}"):
        train(x, y, (x, y), out, epochs=10, batch=10, resume=True, arch=other)
    resumed = train(x, y, (x, y), out, epochs=10, batch=10, resume=True, arch=arch)
    assert [h["epoch"] for h in resumed] == list(range(1, 11))
    assert train(x, y, (x, y), out, epochs=10, resume=True, arch=arch) == resumed     # finished: nothing to do
    with pytest.raises(ValueError, match="finished at epoch 10"):
        train(x, y, (x, y), out, epochs=12, resume=True, arch=arch)
    model = SkinToneModel.load(out, str(tmp_path))
    recall = range_recall(model.probabilities(x), y)
    assert set(recall) == {1, 2, 3, 4} and np.mean(list(recall.values())) >= 0.5
    noise = np.random.default_rng(0).integers(0, 256, (4, SIDE, SIDE, 3), dtype=np.uint8)
    mirrored = noise[:, :, ::-1].copy()      # the mean over a crop and its mirror: the same either way
    assert np.allclose(model.probabilities(noise), model.probabilities(mirrored), atol=1e-6)
    assert not np.allclose(model.probabilities(noise, mirror=False), model.probabilities(mirrored, mirror=False))
    answers = model(np.tile(x[0], (2, 2, 1)), [Box(10, 10, 60, 60)])
    assert len(answers) == 1 and 1 <= answers[0][0] <= 10 and 0.0 <= answers[0][1] <= 1.0
    assert model(x[0], []) == []


def test_the_estimator_reads_confirmed_faces_with_the_network(tmp_path):
    import skimage.data
    import torch

    from lens.understanding.skin import SkinToneEstimator

    torch.save({"net": build_net().state_dict(), "arch": "context-exposure"}, tmp_path / "net.pt")
    tones = SkinToneEstimator(net=SkinToneModel.load(tmp_path / "net.pt", str(tmp_path)))(skimage.data.astronaut())
    assert len(tones) == 1 and tones[0].method == "face_net"     # an untrained net: a range or "not sure"
    assert tones[0].status == "ok" or tones[0].reason.startswith("not sure of the range")


@pytest.mark.parametrize("arch", ARCHS)
def test_the_train_command_writes_a_network_of_the_architecture_asked(tmp_path, capsys, arch):
    from cli.main import main
    from tests.conftest import real_dataset

    data = real_dataset("ccp").parent
    out = tmp_path / "net.pt"
    assert main(["train-skin-tone", "--real", str(data), "--limit", "4", "--epochs", "1",
                 "--arch", arch, "--out", str(out)]) == 0
    assert f"skin tone network ({arch})" in capsys.readouterr().out
    net = SkinToneModel.load(out, runtime="torch").net
    assert (type(net[0]).__name__ == "ContextExposure") == (arch == "context-exposure")


def test_the_train_command_names_a_bad_data_root(tmp_path, capsys):
    from cli.main import main

    assert main(["train-skin-tone", "--real", str(tmp_path), "--out", str(tmp_path / "n.pt")]) == 2
    assert capsys.readouterr().err.strip() == f"lens: error: --real {tmp_path}: no ccp/annotations/pixel-level in it"
    assert not (tmp_path / "n.pt").exists()
