"""Complete The Look (issue 23): the blanked-region ground truth, the style embedding's training and
its figures, the commands."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lens.boxes import Box
from lens.complete.outfits import BLANK, CANDIDATES, PAD, blank_box, blanked, crop, fitb, pixels, questions, scenes
from tests.conftest import ccp_converted, save_png

COLOURS = [(200, 30, 40), (30, 60, 200), (40, 160, 60), (230, 200, 40), (120, 40, 160), (20, 20, 20)]


def _outfits(folder: Path, n: int = 12, seed: int = 0) -> Path:
    """``n`` scenes of a figure on a plain ground: a top and two shoes of one colour (the scene's
    style: everything matches), trousers grey, and a manifest of their boxes."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        rgb = np.full((200, 140, 3), 235, np.uint8)
        colour = COLOURS[i % len(COLOURS)]
        top, legs = [40, 30, 100, 95], [50, 95, 90, 160]
        shoes = [[44, 162, 68, 180], [72, 162, 96, 180]]
        rgb[30:95, 40:100] = colour
        rgb[95:160, 50:90] = (110, 110, 110)
        for x1, y1, x2, y2 in shoes:
            rgb[y1:y2, x1:x2] = colour
        rgb = np.clip(rgb.astype(int) + rng.integers(-6, 7, rgb.shape), 0, 255).astype(np.uint8)
        save_png(folder / f"s{i}.png", rgb)
        rows.append({"id": f"s{i}", "image": f"s{i}.png", "kind": "scene", "width": 140, "height": 200,
                     "objects": [{"category": "upper_body", "box": top}, {"category": "lower_body", "box": legs}]
                     + [{"category": "footwear", "box": b} for b in shoes]})
    manifest = folder / "scenes.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest


def test_no_pixel_of_the_positive_crop_is_left_in_its_scene(tmp_path):
    qs = questions(scenes(_outfits(tmp_path, 3)))
    assert {q.category for q in qs} == {"upper_body", "lower_body", "footwear"} and len(qs) == 9
    for q in qs:
        scene, positive = pixels(q)
        x1, y1, x2, y2 = q.positive.pad(PAD).clip(140, 200).to_int()
        assert (scene[y1:y2, x1:x2] == BLANK).all()              # the crop's whole rectangle is blank
        assert positive.shape[:2] == (y2 - y1, x2 - x1)
        for box in q.scene.boxes(q.category):                    # both shoes: the twin gives nothing away
            bx1, by1, bx2, by2 = box.to_int()
            assert (scene[by1:by2, bx1:bx2] == BLANK).all()


def test_the_hole_is_square_so_its_shape_is_not_the_answer():
    x1, y1, x2, y2 = blank_box(Box(100, 100, 140, 300), (1000, 1000, 3))
    assert x2 - x1 == y2 - y1 and x1 <= 100 - 40 * PAD and y2 >= 300 + 200 * PAD
    x1, y1, x2, y2 = blank_box(Box(0, 0, 40, 200), (300, 300, 3))         # clipped at the frame
    assert (x1, y1) == (0, 0) and x2 < 300 and y2 <= 300


def test_blanking_leaves_the_rest_of_the_scene_untouched():
    rgb = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    out = blanked(rgb, [Box(10, 10, 20, 20)])
    x1, y1, x2, y2 = blank_box(Box(10, 10, 20, 20), rgb.shape)
    mask = np.zeros(rgb.shape[:2], bool)
    mask[y1:y2, x1:x2] = True
    assert (out[mask] == BLANK).all() and (out[~mask] == rgb[~mask]).all() and (rgb != out).any()
    assert crop(rgb, Box(10, 10, 20, 20)).shape == (12, 12, 3)          # padded by 8 % a side, rounded out


def test_fill_in_the_blank_asks_among_its_class_from_other_scenes(tmp_path):
    qs = questions(scenes(_outfits(tmp_path, 6)))
    tests = fitb(qs, seed=3)
    assert len(tests) == len(qs)
    for answer, candidates in tests:
        asked = qs[candidates[answer]]
        assert len(candidates) == CANDIDATES and len(set(candidates)) == CANDIDATES
        assert all(qs[c].category == asked.category for c in candidates)
        assert sum(qs[c].scene.id == asked.scene.id for c in candidates) == 1
    assert fitb(qs, seed=3) == tests and fitb(qs[:3]) == []           # seeded; too few scenes: no test


def test_a_manifest_without_boxed_scenes_is_one_line(tmp_path):
    bad = tmp_path / "m.jsonl"
    bad.write_text(json.dumps({"id": "a", "image": "a.png", "objects": [{"category": "bag", "box": [0, 0, 30, 30]}]}) + "\n")
    with pytest.raises(ValueError, match=f"^{bad}: no scene with boxed objects of 2 classes"):
        scenes(bad)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, models):
    """A few epochs on 12 tiny matching outfits (every garment but the trousers one colour)."""
    from lens.complete.train import CompatJob, train_compat
    from lens.learning.trainer import TrainSettings

    folder = tmp_path_factory.mktemp("outfits")
    manifest = _outfits(folder, 12)
    out = folder / "compat.pt"
    job = CompatJob(str(manifest), str(manifest), str(out), TrainSettings(epochs=8, head_lr=3e-3, seed=0))
    figures = train_compat(job, models.store.resolve("mobilenet_v2"), progress=False)
    return manifest, out, figures


def test_a_matching_piece_is_nearer_than_a_clashing_one_after_a_short_training(trained, models):
    import torch

    from lens.complete.model import Features, load_checkpoint, net_from
    from lens.complete.train import encode

    manifest, out, figures = trained
    assert figures["style embedding: FITB"] > figures["geometry alone (hole vs crop aspect): FITB"]
    enc = encode(questions(scenes(manifest)), Features(models.store.resolve("mobilenet_v2")), progress=False)
    net = net_from(load_checkpoint(out))
    shoes = [i for i, q in enumerate(enc.questions) if q.category == "footwear"]
    red, blue = shoes[0], shoes[1]                     # scenes 0 and 1: red and blue outfits
    g, r, p = (torch.from_numpy(a.astype(np.float32)) for a in (enc.scene, enc.regions, enc.product))
    c = torch.from_numpy(enc.category)
    with torch.inference_mode():
        s, rr = net.scenes(g[[red]], r[[red]])
        match = net.distances(s, rr, net.products(p[[red]]), c[[red]])[0]
        clash = net.distances(s, rr, net.products(p[[blue]]), c[[red]])[0]
    assert float(match) < float(clash)


def test_the_checkpoint_holds_the_net_and_its_history_and_nothing_else_loads(trained, tmp_path):
    from lens.complete.model import load_checkpoint

    _, out, figures = trained
    state = load_checkpoint(out)
    assert state["categories"] == ["footwear", "lower_body", "upper_body"] and len(state["history"]) == 8
    assert not Path(f"{out}.resume").exists() and figures["epochs"] == 8
    (tmp_path / "x.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="x.pt"):
        load_checkpoint(tmp_path / "x.pt")


def test_the_commands_train_resume_and_evaluate(tmp_path, capsys):
    from cli.main import main

    manifest, out = _outfits(tmp_path, 8), tmp_path / "c.pt"
    args = ["train-compat", "--manifest", str(manifest), "--val", str(manifest), "--out", str(out)]
    assert main([*args, "--epochs", "1"]) == 0 and out.is_file()
    assert main([*args, "--epochs", "2", "--resume"]) == 2            # the 1-epoch run finished: nothing to resume
    assert "--resume: no" in capsys.readouterr().err
    assert main(["eval", "complete", "--manifest", str(manifest), "--checkpoint", str(out),
                 "--json", str(tmp_path / "f.json")]) == 0
    printed = capsys.readouterr().out
    assert "style embedding: FITB" in printed and "baseline (visual similarity): FITB" in printed
    assert json.loads((tmp_path / "f.json").read_text())["fill in the blank: questions"] == 8 * 3
    assert main(["eval", "complete", "--manifest", str(manifest), "--checkpoint", "none"]) == 0
    assert "style embedding" not in capsys.readouterr().out
    assert main(["train-compat", "--manifest", str(tmp_path / "missing.jsonl"), "--val", str(manifest)]) == 2
    assert capsys.readouterr().err.strip() == f"lens: error: {tmp_path / 'missing.jsonl'}: no such file or folder"


def test_the_committed_checkpoint_beats_the_baseline_on_held_out_ccp_outfits(models, tmp_path_factory):
    """CCP's first 200 photos converted: their 40 validation photos (issue 23.4's goal, FITB >= 0.60
    and 0.15 above the baseline, is measured on all 140 by `make bench`)."""
    from lens.complete.model import CHECKPOINT
    from lens.complete.train import eval_compat

    out, _ = ccp_converted(tmp_path_factory, 200)
    f = eval_compat(str(out / "masked-val.jsonl"), str(CHECKPOINT), models.store.resolve("mobilenet_v2"), progress=False)
    assert f["fill in the blank: questions"] >= 100
    assert f["style embedding: FITB"] >= f["baseline (visual similarity): FITB"] + 0.1


class _Catalog:
    """A catalog as the completer reads one: its folder, version, stored items and ``items(ids)``."""

    def __init__(self, directory: Path, items: list[dict]):
        self.directory, self.version, self.store = directory, 1, items

    def items(self, ids):
        by_id = {i["id"]: i for i in self.store}
        return [by_id.get(i) for i in ids]


def _products(folder: Path) -> list[dict]:
    """Shoes, tops and trousers in each colour, as catalog products (and one scene, never suggested)."""
    out = []
    for n, colour in enumerate(COLOURS):
        for category, size in (("shoes", (30, 50)), ("top", (80, 70)), ("trousers", (90, 50))):
            rgb = np.full((*size, 3), 240, np.uint8)
            rgb[5:-5, 5:-5] = colour
            save_png(folder / f"{category}{n}.png", rgb)
            out.append({"id": f"{category}{n}", "image": str(folder / f"{category}{n}.png"), "kind": "product",
                        "category": category, "color": "red"})
    return out + [{"id": "scene", "image": str(folder / "shoes0.png"), "kind": "scene", "category": "shoes"}]


def test_the_completer_suggests_what_the_scene_lacks_with_its_attention(trained, models, tmp_path):
    from lens.complete.serve import Completer
    from lens.imageio import load_image
    from lens.types import Detection

    manifest, out, _ = trained
    completer = Completer.load(models.store.resolve("mobilenet_v2"), out)
    catalog = _Catalog(tmp_path, _products(tmp_path))
    rgb = load_image(manifest.parent / "s0.png")
    worn = [Detection(Box(40, 30, 100, 95), "top", 0.9, "rcnn"), Detection(Box(50, 95, 90, 160), "trousers", 0.9, "rcnn")]
    got = completer(rgb, worn, catalog, k=4)
    assert got["present"] == ["lower_body", "upper_body"] and got["asked"] == ["footwear"]
    assert len(got["items"]) == 4 and {i["class"] for i in got["items"]} == {"footwear"}
    assert got["items"][0]["id"] == "shoes0"               # the red outfit's red shoes go best
    cells = got["attention"]["footwear"]
    assert len(cells) == 7 * 5 and all(0 <= c[0] < c[2] <= 140 and 0 <= c[1] < c[3] <= 200 for c in cells)   # 5 of 7 columns: the rest is letterbox
    assert max(c[4] for c in cells) == 1.0
    assert (tmp_path / "index" / f"compat-{completer.digest}.npz").is_file()     # computed once, kept

    boxed = completer(rgb, worn, catalog, k=3, box=Box(40, 30, 100, 95))
    assert boxed["asked"] == ["upper_body"] and {i["class"] for i in boxed["items"]} == {"upper_body"}
    again = Completer.load(models.store.resolve("mobilenet_v2"), out)             # a new process: read back
    assert [i["id"] for i in again(rgb, worn, catalog, k=4)["items"]] == [i["id"] for i in got["items"]]


def test_a_scene_with_no_people_and_no_objects_gets_an_empty_list_and_a_reason(trained, models, tmp_path):
    from lens.complete.serve import Completer

    _, out, _ = trained
    completer = Completer.load(models.store.resolve("mobilenet_v2"), out)
    got = completer(np.full((64, 64, 3), 255, np.uint8), [], _Catalog(tmp_path, _products(tmp_path)), k=5)
    assert got["items"] == [] and got["reason"].startswith("no outfit in the photo")
    none = completer(np.full((64, 64, 3), 255, np.uint8), [_person()], _Catalog(tmp_path, []), k=5)
    assert none["items"] == [] and none["reason"].startswith("the catalog holds no products of")


def _person():
    from lens.types import Detection

    return Detection(Box(5, 5, 60, 60), "person", 0.9, "people")


def test_generator_compatible_pieces_are_nearer_than_clashing_ones_after_a_short_training(tmp_path, models):
    """Issue 23's test: on a tiny styled synthetic catalog (lens synth --styles), a few epochs make a
    scene's own (compatible) pieces nearer than pieces its style does not admit."""
    from lens.complete.outfits import compatibility
    from lens.complete.train import CompatJob, train_compat
    from lens.learning.trainer import TrainSettings
    from lens.synth import generate_catalog

    manifest = generate_catalog(tmp_path / "styled", products=140, scenes=40, seed=5, workers=1, progress=False,
                                styled=True)
    qs = questions(scenes(manifest))
    compatible = compatibility(manifest)
    assert compatible is not None and all(compatible(q, q) for q in qs)      # a scene's own pieces fit it
    tests = fitb(qs, seed=0, compatible=compatible)
    assert tests and all(not compatible(qs[c[a]], qs[j]) for a, c in tests for j in c if j != c[a])
    job = CompatJob(str(manifest), str(manifest), str(tmp_path / "c.pt"), TrainSettings(epochs=6, head_lr=3e-3))
    figures = train_compat(job, models.store.resolve("mobilenet_v2"), progress=False)
    assert figures["style embedding: AUC"] > 0.6 and figures["style embedding: FITB"] > 0.4     # chance: 0.5, 0.25
