"""`lens serve` as a real process: it starts, prints its URL and answers HTTP."""
import json
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT, no_heads
from tests.servers import free_port


def test_serve_answers_health_and_page(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", *no_heads(), "--config", "demo", "serve",
                             "--port", str(port), "--catalog", str(tmp_path / "catalog")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    assert json.loads(resp.read()) == {"status": "ok", "items": 0}
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("lens serve did not answer within 120 s")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
            assert b"Choose a photo" in resp.read()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}" in out


def test_the_app_warms_up_before_its_first_request(tmp_path):
    """server.warm_up: create_app runs one query on the built-in sample, so every lazily built part
    (models, mediapipe graphs, the OCR engine, the calibration) exists before a user's first query,
    and /readyz says what it took (issue 22.3)."""
    import gc

    from lens.config import load_config
    from lens.pipeline.warmup import sample
    from lens.understanding.ocr import likely_text
    from tests.conftest import isolated
    from web.app import create_app

    assert likely_text(sample())                     # the sample opens the OCR gate
    app = create_app(load_config("default", isolated(tmp_path)))
    lens = app.extensions["lens"]
    assert {"embedder", "detector", "understanding", "people_graphs"} <= set(lens.models.built())
    assert lens.understanding.reader._engine is not None and lens._calibrated is not None
    ready = app.test_client().get("/readyz").get_json()
    assert ready["status"] == "ready" and ready["warm_up"]["ms"] > 0 and ready["warm_up"]["query ms"] > 0
    assert ready["warm_up"]["frozen objects"] > 10_000 and gc.get_freeze_count() > 10_000   # out of its passes
    gc.unfreeze()                                    # the rest of this test session collects as before
    assert ready["runtime"] == {"embedder": "onnx", "detector": "onnx"}     # configs/default.yaml
    cold = create_app(load_config("default", [*isolated(tmp_path), "server.warm_up=false"]))
    assert cold.extensions["warm_up"] is None
    assert cold.test_client().get("/readyz").get_json()["warm_up"] is None


def test_each_worker_gets_its_share_of_the_cores(monkeypatch):
    """lens.threads (issue 22.4): 2 workers on 2 cores run one compute thread each; the config's
    onnxruntime sessions get the same count, torch and OpenCV are set to it."""
    import cv2
    import pytest
    import torch

    from lens import threads
    from lens.config import load_config

    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(threads, "_share", 0)                # apply() sets it: restored after the test
    assert (threads.cores(), threads.per_process(1), threads.per_process(2), threads.per_process(4)) == (2, 2, 1, 1)
    with pytest.raises(ValueError, match="workers 0"):
        threads.per_process(0)
    config = load_config("default")
    assert threads.apply(config, 0) is config
    from threadpoolctl import threadpool_info, threadpool_limits

    before = (torch.get_num_threads(), cv2.getNumThreads())
    blas = threadpool_limits(None, user_api="blas")          # restores numpy's BLAS pool afterwards
    try:
        applied = threads.apply(config, 1)
        assert (applied.embedder.threads, applied.detection.threads) == (1, 1)
        assert (torch.get_num_threads(), cv2.getNumThreads()) == (1, 1)
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
        assert config.embedder.threads == 0                      # the caller's config is not changed
        assert threads.share() == 1                              # one request's steps: one after the other
    finally:
        torch.set_num_threads(before[0])
        cv2.setNumThreads(before[1])
        blas.restore_original_limits()


def test_model_threads_from_the_environment_name_the_variable(monkeypatch):
    """web/wsgi.py reads LENS_MODEL_THREADS through lens.threads.from_env: a bad value is one line
    naming the variable, before any model loads."""
    from lens import threads

    monkeypatch.delenv("LENS_MODEL_THREADS", raising=False)
    assert threads.from_env() == 0
    monkeypatch.setenv("LENS_MODEL_THREADS", "1")
    assert threads.from_env() == 1
    for bad in ("two", "-1", "1.5"):
        monkeypatch.setenv("LENS_MODEL_THREADS", bad)
        with pytest.raises(ValueError, match=f"LENS_MODEL_THREADS '{bad}'"):
            threads.from_env()


@pytest.mark.parametrize("share", [1, 2])
def test_side_by_side_runs_both_and_raises_either(monkeypatch, share):
    """lens.threads.side_by_side: the background step on a worker thread only with a share of two
    threads or more; results in order; an error in either step is raised after both finished."""
    import threading
    import time

    from lens import threads

    monkeypatch.setattr(threads, "_share", share)
    here = threading.get_ident()
    where, done = threads.side_by_side(lambda: threading.get_ident(), lambda: threading.get_ident())
    assert done == here and (where != here) == (share > 1)
    assert threads.side_by_side(lambda: [], lambda: "photo") == ([], "photo")
    nested, _ = threads.side_by_side(lambda: threads.side_by_side(threading.get_ident, threading.get_ident),
                                     lambda: None)
    assert nested[0] == nested[1]                # on the pool's own thread: in order there, no self-wait
    with pytest.raises(KeyError, match="crop"):
        threads.side_by_side(lambda: {}["crop"], lambda: 1)
    finished = []

    def slow():
        time.sleep(0.05)
        finished.append(True)

    with pytest.raises(ZeroDivisionError):
        threads.side_by_side(slow, lambda: 1 / 0)
    assert finished == [True]


def test_side_by_side_works_in_a_forked_child(monkeypatch):
    """A child forked after the pool started (a Ray or multiprocessing worker) gets a pool of its
    own, not the parent's copy without its threads, which would never run a step."""
    import os
    import signal

    from lens import threads

    monkeypatch.setattr(threads, "_share", 2)
    assert threads.side_by_side(lambda: 1, lambda: 2) == (1, 2)           # the parent's pool runs
    pid = os.fork()
    if pid == 0:                                                          # the child: never back to pytest
        signal.alarm(20)                                                  # a hang ends it, failing the test
        os._exit(0 if threads._pool is None and threads.side_by_side(lambda: 3, lambda: 4) == (3, 4) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
