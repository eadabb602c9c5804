"""The embedder registry and the MobileNetV2 embedder on real photos."""
import numpy as np
import pytest
import skimage.data

from lens.config import EmbedderConfig, ModelsConfig
from lens.embeddings import EMBEDDERS, letterbox, make_embedder
from lens.models import ModelStore


def store_for(name: str, request) -> ModelStore:
    """The model store an embedder needs: ``unified`` is trained here (the session's tiny one)."""
    if name == "unified":
        return ModelStore(ModelsConfig(unified=str(request.getfixturevalue("unified_checkpoint")["path"])))
    return ModelStore()


@pytest.mark.parametrize("name", sorted(EMBEDDERS))
def test_every_embedder_gives_unit_vectors(name, request):
    emb = make_embedder(EmbedderConfig(name=name, batch_size=2), store_for(name, request))
    images = [skimage.data.coffee(), skimage.data.chelsea(), np.zeros((20, 300, 3), np.uint8)]
    vecs = emb.embed(images)
    assert vecs.shape == (3, emb.dim) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert emb.embed([]).shape == (0, emb.dim)
    assert emb.settings()["name"] == name


@pytest.mark.parametrize("name", ["mobilenet_v2", "efficientnet_lite0"])   # the ImageNet embedders
def test_imagenet_classes_on_real_photos(name, embedder):
    embedder = embedder if name == "mobilenet_v2" else make_embedder(EmbedderConfig(name=name), ModelStore())
    _, logits = embedder.embed_and_classify([skimage.data.coffee(), skimage.data.chelsea()])
    names = [embedder.categories[i] for i in logits.argmax(1)]
    assert names == ["espresso", "Egyptian cat"]


def test_same_image_same_vector_similar_images_close(embedder):
    coffee = skimage.data.coffee()
    a, b, c = embedder.embed([coffee, coffee[:, ::-1], skimage.data.rocket()])
    assert float(a @ b) > float(a @ c)


def test_letterbox_keeps_aspect():
    out = letterbox(np.zeros((50, 100, 3), np.uint8), 224)
    assert out.shape == (224, 224, 3)
    assert out[0, 0].tolist() == [255, 255, 255] and out[112, 112].tolist() == [0, 0, 0]


def test_unknown_embedder_lists_valid():
    with pytest.raises(ValueError, match=r"embedder.name 'clip': unknown \(valid: efficientnet_lite0, mobilenet_v2, unified\)"):
        make_embedder(EmbedderConfig(name="clip"), ModelStore())


@pytest.mark.parametrize("name", sorted(EMBEDDERS))
def test_onnxruntime_and_torch_give_the_same_vectors(name, request, tmp_path):
    """embedder.runtime: the graph exported into models.root gives torch's vectors and logits."""
    store = store_for(name, request)
    store.config.root = str(tmp_path)
    images = [skimage.data.coffee(), skimage.data.astronaut()[:200, :90], np.full((9, 9, 3), 7, np.uint8)]
    runs = {rt: make_embedder(EmbedderConfig(name=name, runtime=rt), store) for rt in ("torch", "onnx")}
    (v_torch, l_torch), (v_onnx, l_onnx) = (runs[rt].embed_and_classify(images) for rt in ("torch", "onnx"))
    assert [p.name for p in tmp_path.glob("*.onnx")] == [f"{runs['onnx']._onnx.path.name}"]
    np.testing.assert_allclose(v_onnx, v_torch, atol=1e-4)
    if l_torch is not None:
        np.testing.assert_allclose(l_onnx, l_torch, atol=1e-3)
    assert runs["onnx"].settings() == runs["torch"].settings()      # same vectors: same index
    assert (runs["onnx"].runtime, runs["torch"].runtime) == ("onnx", "torch")


def test_onnx_export_failure_falls_back_to_torch(tmp_path, caplog):
    store = ModelStore()
    store.config.root = str(tmp_path / "not-a-folder")
    (tmp_path / "not-a-folder").write_text("a file where the graph folder should be")
    emb = make_embedder(EmbedderConfig(runtime="onnx"), store)
    vecs = emb.embed([skimage.data.coffee()])
    assert np.isclose(np.linalg.norm(vecs), 1.0, atol=1e-5)
    assert "on onnxruntime failed" in caplog.text and emb.runtime == "torch"


def test_unknown_runtime_names_the_key():
    with pytest.raises(ValueError, match=r"embedder.runtime 'tvm': expected one of onnx, torch"):
        make_embedder(EmbedderConfig(runtime="tvm"), ModelStore())
