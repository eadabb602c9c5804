"""The catalog-category head: training, held-out accuracy, save/load, mismatches."""
import json

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


class _RecordingEmbedder:
    """Left-half vs right-half brightness as a 2-d vector; records every image it embeds."""

    def __init__(self):
        self.seen = []

    def embed(self, images):
        self.seen.extend(images)
        v = np.array([[im[:, :im.shape[1] // 2].mean() + 1, im[:, im.shape[1] // 2:].mean() + 1] for im in images])
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    def settings(self):
        return EMB


def test_training_also_learns_the_mirrored_photos(tmp_path):
    """Each training photo is embedded as it is and mirrored; figures count photos, not both copies."""
    from PIL import Image

    from lens.understanding.category_head import train_from_manifest

    rows = []
    for n in range(12):
        im = np.zeros((8, 8, 3), np.uint8)
        im[:, :4] = 40 + 10 * n                        # a bright left half, whatever the class
        im[:, 4:] = 200 if n % 2 else 0
        Image.fromarray(im).save(tmp_path / f"{n}.png")
        rows.append(json.dumps({"id": str(n), "image": str(tmp_path / f"{n}.png"), "category": f"c{n % 2}"}))
    (tmp_path / "m.jsonl").write_text("\n".join(rows) + "\n")
    embedder = _RecordingEmbedder()
    figures = train_from_manifest(tmp_path / "m.jsonl", embedder, {"category": tmp_path / "h.pt"},
                                  holdout=0.25, progress=False)
    assert len(embedder.seen) == 24
    originals, mirrored = embedder.seen[:12], embedder.seen[12:]
    assert all(np.array_equal(m, o[:, ::-1]) for o, m in zip(originals, mirrored))
    assert figures["category"]["train"] + figures["category"]["held_out"] == 12
