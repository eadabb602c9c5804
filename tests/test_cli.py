"""The ``lens`` command as users run it (subprocesses): output, exit codes, one-line errors."""
import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, no_heads


def run(*args, cwd=None):
    """``lens ARGS`` in a subprocess, ignoring trained heads in the working tree."""
    proc = subprocess.run([sys.executable, "-m", "cli.main", *no_heads(), *args], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def _error_line(stderr: str) -> str:
    lines = [l for l in stderr.splitlines() if l.startswith("lens:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_models_lists_every_model():
    code, out, _ = run("models")
    assert code == 0
    assert "mobilenet_v2" in out and "fasterrcnn_resnet50_fpn_v2" in out and "lens models fetch" in out
    # the default config's real-photo checkpoint (COCO weights would run beside it: none here)
    assert "object detector: auto from detection/checkpoints/ccp_mnv2_fpn.pt" in out
    code, out, _ = run("--set", "models.detector_checkpoint=", "models")
    assert "object detector: off" in out      # no checkpoint and no COCO weights on this machine
    code, out, _ = run("models", "--json")
    data = json.loads(out)
    assert {r["name"]: r["present"] for r in data["models"]}["minilm"] is True
    assert data["detector"].startswith("object detector:")


def test_detect_prints_detections_and_writes_a_preview(tmp_path):
    from PIL import Image
    import skimage.data

    Image.fromarray(skimage.data.astronaut()).save(tmp_path / "a.jpg")
    code, out, err = run("detect", str(tmp_path / "a.jpg"), "--preview", str(tmp_path / "p.png"))
    assert code == 0, err
    data = json.loads(out)
    labels = {d["label"] for d in data["detections"]}
    assert {"face", "person", "upper_body"} <= labels
    crops = {c["label"] for c in data["crops"]}
    assert "upper_body" in crops and not crops & {"face", "person"}    # garments are cropped, people never
    assert Image.open(tmp_path / "p.png").size == (512, 512)
    code, _, err = run("detect", str(tmp_path / "a.jpg"), "--preview", str(tmp_path / "p.gif"))
    assert code == 2 and "p.gif: unsupported image suffix" in _error_line(err)


@pytest.mark.parametrize("args, message", [
    (["--set", "indx.kind=flat", "models"], "unknown config key 'indx'"),
    (["--set", "query.k=lots", "models"], "query.k: expected an integer"),
    (["--config", "nosuch", "models"], "nosuch.yaml: no such file"),
    (["index", "/nonexistent/folder"], "/nonexistent/folder: no such file or folder"),
    (["query", "/nonexistent.jpg"], "/nonexistent.jpg: no such image file"),
])
def test_bad_input_one_line_nonzero(args, message):
    code, _, err = run(*args)
    assert code == 2
    assert message in _error_line(err)


def test_index_query_and_bad_files(tmp_path, image_folder):
    catalog = tmp_path / "cat"
    (image_folder / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    code, out, err = run("--config", "demo", "index", str(image_folder), "--catalog", str(catalog))
    assert code == 1 and "broken.jpg" in _error_line(err)
    assert "indexed 6 new" in out
    code, out, _ = run("--config", "demo", "index", str(image_folder), "--catalog", str(catalog))
    assert "0 new or updated, 6 already indexed" in out   # nothing recomputed, nothing lost
    code, out, err = run("--config", "demo", "query", str(image_folder / "pink.png"),
                         "--catalog", str(catalog), "--k", "2", "--box", "30,20,130,100")
    assert code == 0, err
    body = json.loads(out)
    assert body["results"][0]["id"] == "pink" and body["query_box"] == [30, 20, 130, 100]
    assert {"regions", "understanding", "results"} <= set(body)
    code, _, err = run("--config", "demo", "query", str(image_folder / "broken.jpg"),
                       "--catalog", str(catalog))
    assert code == 2 and "broken.jpg: not a readable image" in _error_line(err)
    code, _, err = run("--config", "demo", "query", str(image_folder / "pink.png"),
                       "--catalog", str(catalog), "--box", "5,5,1,1")
    assert code == 2 and "degenerate" in _error_line(err)


def test_a_catalog_of_another_embedder_is_refused_then_rebuilt(tmp_path, image_folder):
    catalog = tmp_path / "cat"
    code, out, err = run("--config", "demo", "index", str(image_folder), "--catalog", str(catalog))
    assert code == 0 and "indexed 6 new" in out, err                      # the demo's unified embedding
    mobilenet = ("--set", "embedder.name=mobilenet_v2")
    code, _, err = run("--config", "demo", *mobilenet, "query", str(image_folder / "red.png"),
                       "--catalog", str(catalog))
    assert code == 2 and "built by embedder" in _error_line(err) and "lens index --rebuild" in _error_line(err)
    code, out, err = run("--config", "demo", *mobilenet, "index", str(image_folder), "--catalog", str(catalog),
                         "--rebuild")
    assert code == 0 and "indexed 6 new" in out, err                      # the command the refusal names works
    code, out, err = run("--config", "demo", *mobilenet, "query", str(image_folder / "red.png"),
                         "--catalog", str(catalog), "--k", "1")
    assert code == 0 and json.loads(out)["embedder"]["name"] == "mobilenet_v2", err


def test_query_on_empty_catalog_says_so(tmp_path, image_folder):
    code, _, err = run("--config", "demo", "query", str(image_folder / "red.png"),
                       "--catalog", str(tmp_path / "empty"))
    assert code == 2 and "is empty: run `lens index PATH` first" in _error_line(err)


def test_train_categories_from_a_manifest(tmp_path, small_catalog):
    """``lens train-categories`` embeds the products, trains both heads and reports held-out accuracy."""
    from lens.understanding.category_head import CategoryHead

    cat, pat = tmp_path / "category.pt", tmp_path / "pattern.pt"
    code, out, err = run("--set", f"models.category_head={cat}", "--set", f"models.pattern_head={pat}",
                         "train-categories", "--manifest", str(small_catalog), "--seed", "1")
    assert code == 0, err
    rows = dict(line.strip().rsplit(None, 1) for line in out.splitlines() if "held_out_accuracy" in line)
    assert float(rows["category held_out_accuracy"]) >= 0.9, out        # the goal
    assert float(rows["pattern held_out_accuracy"]) > 0.5, out
    head = CategoryHead.load(cat)
    assert len(head.classes) == 14 and "dress" in head.classes and pat.is_file()
    code, _, err = run("--set", f"models.category_head={cat}", "train-categories",
                       "--manifest", str(tmp_path / "missing"))
    assert code != 0 and "missing" in _error_line(err)
    assert CategoryHead.load(cat).classes == head.classes                # a failed run keeps the head
