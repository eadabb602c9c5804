"""The catalog-category head: training, held-out accuracy, save/load, mismatches."""
import numpy as np
import pytest
import torch

from lens.understanding.category_head import CategoryHead, stratified_split, train_head

EMB = {"name": "test", "dim": 16}


def _clusters(n_per: int, classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, 16))
    x = np.concatenate([c + 0.3 * rng.normal(size=(n_per, 16)) for c in centers]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, [f"c{i}" for i in range(classes) for _ in range(n_per)]


def test_learns_separable_classes_and_roundtrips(tmp_path):
    x, y = _clusters(40, 4)
    train, held = stratified_split(y, 0.25)
    assert len(held) == 40 and not set(train) & set(held)
    head = train_head(x[train], [y[i] for i in train], EMB)
    pred = head.predict_proba(x[held]).argmax(1)
    assert np.mean([head.classes[p] == y[i] for p, i in zip(pred, held)]) >= 0.95
    head.save(tmp_path / "head.pt")
    loaded = CategoryHead.load(tmp_path / "head.pt", EMB)
    np.testing.assert_allclose(loaded.predict_proba(x), head.predict_proba(x), atol=1e-6)
    top = loaded.predict(x[0], top_k=2)
    assert top[0]["name"] == "c0" and top[0]["kind"] == "category" and len(top) == 2


def test_mismatched_embedder_and_bad_files(tmp_path):
    x, y = _clusters(5, 2)
    train_head(x, y, EMB).save(tmp_path / "head.pt")
    with pytest.raises(ValueError, match="trained on embedder.*retrain"):
        CategoryHead.load(tmp_path / "head.pt", {"name": "other", "dim": 16})
    torch.save({"weight": torch.zeros(2, 16)}, tmp_path / "partial.pt")
    with pytest.raises(ValueError, match=r"partial.pt: missing \['bias', 'classes', 'embedder'\]"):
        CategoryHead.load(tmp_path / "partial.pt")


def test_degenerate_inputs():
    x, _ = _clusters(3, 1)
    with pytest.raises(ValueError, match="at least 2 categories"):
        train_head(x, ["only"] * 3, EMB)
    with pytest.raises(ValueError, match="holdout 1.5"):
        stratified_split(["a", "b"], 1.5)
