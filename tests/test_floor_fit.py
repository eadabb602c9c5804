"""`lens eval floor`: the relevance floor's pair fitted on photos of the products and of nothing (issue 19.6)."""
from __future__ import annotations

import json

import pytest

from cli.main import main
from lens.evaluation.floor_fit import WEIGHTS, Evidence, fit
from tests.conftest import real_dataset
from tests.test_real_retrieval import grocery_small  # noqa: F401  (the module's fixture: 4 Grocery products)


def _evidence(score, background, weight=1.0):
    return [{"source": "visual", "score": score, "background": background, "weight": weight}]


def test_the_floor_keeps_the_share_asked_and_the_weight_leaves_most_foreign_photos_unmatched():
    # right first hits: cosines 0.70-0.79 over a background of 0.55; foreign pages: 0.5 over 0.2, and a
    # text-only item (no image evidence: never close).  The floor keeping 99 of 100 at weight w is
    # 0.71 - 0.55 w; the foreign excess 0.5 - 0.2 w stays under it only for w < 0.6.
    firsts = [_evidence(0.70 + 0.001 * i, 0.55) for i in range(100)]
    foreign = [[_evidence(0.50, 0.20), [{"source": "text", "score": 0.9}]] for _ in range(10)]
    table = fit(Evidence(firsts, foreign), 0.99)
    assert len(table) == len(WEIGHTS)
    for row in table:                       # each weight's floor keeps 99 of 100 and drops one
        assert row["kept"] == pytest.approx(0.99)
        assert row["min_relevance"] == pytest.approx(0.701 - row["background_weight"] * 0.55, abs=0.0011)
        assert row["no close match"] == (1.0 if row["background_weight"] < 0.6 else 0.0)
    assert table[0]["background_weight"] == 0.5         # ties: the lighter weight


def test_first_hits_without_image_evidence_give_a_floor_in_range():
    text_only = [{"source": "text", "score": 0.9}]                # no image source found it: excess -inf
    evidence = Evidence([text_only] * 5 + [_evidence(0.9, 0.1)] * 5, [[_evidence(0.5, 0.2)]])
    assert evidence.floor_for(0.8, 0.99) == 0.0                    # no floor keeps them: none at all
    assert evidence.floor_for(0.8, 0.5) == pytest.approx(0.82, abs=0.0011)


def test_nothing_to_fit_on_is_one_line():
    with pytest.raises(ValueError, match="nothing to fit on"):
        fit(Evidence([], [[_evidence(0.5, 0.2)]]))


def test_lens_eval_floor_on_real_photos(grocery_small, tmp_path, capsys, caplog):  # noqa: F811
    street = real_dataset("ccp") / "photos"
    foreign = tmp_path / "street.jsonl"
    foreign.write_text("".join(json.dumps({"id": f"s{n}", "image": str(street / f"{n:04d}.jpg")}) + "\n"
                               for n in (1, 2)) + json.dumps({"id": "gone", "image": str(tmp_path / "gone.jpg")}) + "\n")
    out = tmp_path / "floor.json"
    args = ["--set", "text.model=none", "--set", "blend.diversity=false", "eval", "floor",
            "--manifest", str(grocery_small / "catalog.jsonl"), "--queries", str(grocery_small / "queries-val.jsonl"),
            "--foreign", str(foreign), "--workdir", str(tmp_path / "w"), "--json", str(out)]
    assert main(args) == 0
    figures = json.loads(out.read_text())
    queries = len((grocery_small / "queries-val.jsonl").read_text().splitlines())
    assert figures["foreign photos"] == 3 and figures["photos of the products"] == queries
    assert figures["photos skipped (unreadable)"] == 1                  # named in the log, the run goes on
    assert figures["chosen"].startswith("--set blend.background_weight=") and "blend.min_relevance=" in figures["chosen"]
    assert 0.0 <= figures["chosen: no close match"] <= 1.0 and figures["chosen: kept"] >= 0.99 - 1e-9
    assert all(f"weight {w:.2f}" in figures for w in WEIGHTS)
    assert "relevance floor fitted on" in capsys.readouterr().out and "gone: skipped (" in caplog.text
    assert main([*args[:-2], "--keep", "0.2"]) == 2
    assert "--keep 0.2" in capsys.readouterr().err
