"""`lens eval retrieval --manifest --queries`: real in-store photos -> their product (issue 19.4).

Runs on a few Grocery products converted by `lens data grocery` into tmp_path (skipped when
../shared/data is absent).
"""
from __future__ import annotations

import json
import os

import pytest

from cli.main import main
from lens.datasets import grocery
from lens.evaluation.real_retrieval import _first_kept, real_retrieval_eval
from tests.conftest import real_dataset

PRODUCTS = 4        # the first four classes: Golden-Delicious, Granny-Smith, Pink-Lady, Red-Delicious


@pytest.fixture(scope="module")
def grocery_small(tmp_path_factory):
    real = real_dataset("grocery") / "dataset"
    src = tmp_path_factory.mktemp("grocery")
    lines = (real / "classes.csv").read_text().splitlines()
    (src / "classes.csv").write_text("\n".join(lines[:PRODUCTS + 1]) + "\n")
    for line in lines[1:PRODUCTS + 1]:
        for column in (4, 5):
            path = line.split(",")[column].lstrip("/")
            (src / path).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(real / path, src / path)
    for split, every in (("train", 40), ("val", 4)):
        kept = [x for x in (real / f"{split}.txt").read_text().splitlines() if int(x.split(",")[1]) < PRODUCTS][::every]
        for x in kept:
            (src / x.split(",")[0]).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(real / x.split(",")[0], src / x.split(",")[0])
        (src / f"{split}.txt").write_text("\n".join(kept) + "\n")
    out = tmp_path_factory.mktemp("grocery-out")
    grocery.convert(src, out)
    out.joinpath("source").symlink_to(src)          # the dataset folder, for `lens demo`
    return out


def test_visual_and_lens_top_k_on_real_photos(grocery_small, config_factory, models, tmp_path):
    config = config_factory("default", "blend.diversity=false")
    street = real_dataset("ccp") / "photos"
    foreign = tmp_path / "street.jsonl"
    foreign.write_text("".join(json.dumps({"id": f"s{n}", "image": str(street / f"{n:04d}.jpg")}) + "\n"
                               for n in (1, 2, 3)))
    figures = real_retrieval_eval(config, str(grocery_small / "catalog.jsonl"),
                                  str(grocery_small / "queries-val.jsonl"), workdir=str(tmp_path / "w"),
                                  progress=False, models=models, foreign=str(foreign))
    assert figures["foreign photos"] == 3 and 0.0 <= figures["foreign photos with no close match"] <= 1.0
    first = figures["first hit correct, above the floor"]
    assert first is None or 0.0 <= first <= 1.0
    queries = len((grocery_small / "queries-val.jsonl").read_text().splitlines())
    assert figures["catalog items"] == PRODUCTS and figures["queries"] == queries >= 4
    for mode in ("visual", "lens"):
        assert 0.0 <= figures[f"{mode} top-1"] <= figures[f"{mode} top-5"] == 1.0   # 4 products: all in 5
        assert f"{mode} top-1 (Fruit, {queries})" in figures
    assert figures["visual top-1"] > 1 / PRODUCTS - 1e-9 or figures["lens top-1"] > 1 / PRODUCTS - 1e-9
    assert figures["lens query ms median"] > 0


def test_the_floor_figure_judges_the_unfloored_first_hit():
    """Issue 19.6: of the queries whose product leads the page with no floor, the share kept above it."""
    products = {"a1": "A", "b1": "B"}
    page = [{"id": "a1", "provenance": [{"source": "visual", "score": 0.5, "background": 0.4}]},
            {"id": "b1", "provenance": [{"source": "visual", "score": 0.9, "background": 0.4}]}]
    weight = 0.8
    excess = 0.5 - weight * 0.4
    assert _first_kept(page, "A", products, excess - 0.01, weight) is True
    assert _first_kept(page, "A", products, excess + 0.01, weight) is False  # B, above it, would lead a floored page
    assert _first_kept(page, "A", products, excess + 0.01, 0.5) is True     # a lighter background weight keeps it
    assert _first_kept(page, "B", products, 0.19, weight) is None           # led by another product: not counted
    assert _first_kept([], "A", products, 0.19, weight) is None
    assert _first_kept(page, "A", products, 0.0, weight) is True            # no floor: kept whatever the excess


def test_a_floor_over_every_item_keeps_no_first_hit(grocery_small, config_factory, models, tmp_path):
    config = config_factory("default", "blend.diversity=false", "blend.min_relevance=0.95")
    figures = real_retrieval_eval(config, str(grocery_small / "catalog.jsonl"),
                                  str(grocery_small / "queries-val.jsonl"), workdir=str(tmp_path / "w"),
                                  limit=4, progress=False, models=models)
    assert figures["first hit correct, above the floor"] in (0.0, None)
    assert figures["lens top-5"] == 1.0                 # loose items still follow the empty page


def test_train_photos_count_as_their_product(grocery_small, config_factory, models, tmp_path):
    config = config_factory("default", "blend.diversity=false")
    figures = real_retrieval_eval(config, str(grocery_small / "catalog.jsonl"),
                                  str(grocery_small / "queries-val.jsonl"),
                                  also=[str(grocery_small / "queries-train.jsonl")], workdir=str(tmp_path / "w"),
                                  limit=3, progress=False, models=models)
    train = len((grocery_small / "queries-train.jsonl").read_text().splitlines())
    assert figures["catalog items"] == PRODUCTS + train and figures["queries"] == 3


def test_queries_must_name_known_products(grocery_small, tmp_path, capsys):
    bad = tmp_path / "q.jsonl"
    row = json.loads((grocery_small / "queries-val.jsonl").read_text().splitlines()[0])
    bad.write_text(json.dumps({**row, "product": "Durian"}) + "\n")
    args = ["--set", "text.model=none", "--set", f"catalog.path={tmp_path / 'c'}", "eval", "retrieval",
            "--manifest", str(grocery_small / "catalog.jsonl"), "--workdir", str(tmp_path / "w")]
    assert main([*args, "--queries", str(bad)]) == 2
    assert "product 'Durian' is not in the catalog" in capsys.readouterr().err
    assert main(args) == 2
    assert "--manifest and --queries go together" in capsys.readouterr().err


def test_demo_over_the_real_grocery_catalog(grocery_small, tmp_path, capsys):
    args = ["--set", "text.model=none", "--set", f"demo.synth_dir={tmp_path / 'synth'}", "demo",
            "--catalog", "grocery", str(grocery_small / "source"), "--no-serve"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"catalog {tmp_path / 'grocery' / 'catalog'}: {PRODUCTS} items ({PRODUCTS} indexed now)" in out
    assert "an in-store photo of" in out and "rank" in out
    assert main(args) == 0 and "(0 indexed now)" in capsys.readouterr().out          # the second run reuses it
    assert main(["demo", "--catalog", "grocery", "--no-serve"]) == 2
