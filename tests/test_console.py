"""A quiet console: no mediapipe/TFLite/absl noise or protobuf warnings on stderr; throttled bars."""
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lens.console import PIPE_MININTERVAL, progress

ROOT = Path(__file__).resolve().parents[1]
NOISE = re.compile(r"^W0000|^I0000|XNNPACK|absl::InitializeLog|Feedback manager")
WARNING_LINE = re.compile(r"DeprecationWarning|protobuf.*Warning|Warning:.*protobuf|GetPrototype")

# Every mediapipe graph the project builds, on a real face (so results turn into proto messages,
# where protobuf warns), then a broken TFLite model: its error must still reach stderr.  Nothing
# here imports lens.console itself: the modules that use mediapipe must.
MODELS = """
import sys
import numpy as np
import skimage.data
from detection.faces import FaceDetector
from detection.people import PeopleDetector
from lens.understanding.body import BodyTypeEstimator
from lens.understanding.skin import SkinToneEstimator
from lens.synth.faces import compute_face_asset

rgb = np.ascontiguousarray(skimage.data.astronaut())
small = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
for model in (FaceDetector(), PeopleDetector(), SkinToneEstimator(), BodyTypeEstimator()):
    for image in (rgb, small):
        model(image)
print("faces", len(FaceDetector()(rgb)))
compute_face_asset()

from mediapipe.tasks.python import BaseOptions, vision
try:
    vision.FaceDetector.create_from_options(vision.FaceDetectorOptions(
        base_options=BaseOptions(model_asset_buffer=b"not a tflite model" * 8)))
except Exception:
    pass
print("done")
"""


def run_models(**env) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("LENS_NATIVE_LOGS", "GLOG_minloglevel")}
    full.update(env, PYTHONPATH=str(ROOT))
    # -W always: a warning that gets through prints on every call, not once per place
    return subprocess.run([sys.executable, "-W", "always", "-c", MODELS], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def quiet_run():
    return run_models()


def test_models_print_no_native_noise(quiet_run):
    assert quiet_run.returncode == 0, quiet_run.stderr[-3000:]
    assert "faces 1" in quiet_run.stdout and "done" in quiet_run.stdout
    noise = [line for line in quiet_run.stderr.splitlines() if NOISE.search(line)]
    assert noise == [], "\n".join(noise[:10])


def test_models_print_no_protobuf_warnings(quiet_run):
    warned = [line for line in quiet_run.stderr.splitlines() if WARNING_LINE.search(line)]
    assert warned == [], "\n".join(warned[:10])


def test_native_errors_still_print(quiet_run):
    assert "ERROR: The model is not a valid Flatbuffer buffer" in quiet_run.stderr


def test_the_probe_sees_the_noise_when_logs_are_kept():
    """LENS_NATIVE_LOGS=1 keeps mediapipe's lines: the probe above is not silent by accident."""
    loud = run_models(LENS_NATIVE_LOGS="1")
    assert loud.returncode == 0, loud.stderr[-3000:]
    assert any(NOISE.search(line) for line in loud.stderr.splitlines()), loud.stderr[-3000:]


def test_importing_console_does_not_load_mediapipe():
    code = "import sys, lens.console; print(sorted({'mediapipe', 'torch'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_quiet_native_logs_is_idempotent():
    """In a fresh process (pytest resets warning filters around collection and each test)."""
    code = ("import sys, warnings, lens.console as c\n"
            "c.quiet_native_logs(); c.quiet_native_logs()\n"
            "mine = [f for f in warnings.filters if f[1] is not None and 'GetPrototype' in f[1].pattern]\n"
            "print(len(mine), sum(isinstance(f, c._BindingsFinder) for f in sys.meta_path))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.returncode == 0 and out.stdout.split() == ["1", "1"], out.stderr


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def refreshes(text: str) -> int:
    return text.count("\r") + text.count("\n")


def spin(stream, seconds: float = 0.6, **kwargs) -> str:
    """A quick loop of many iterations lasting ``seconds``, its bar written to ``stream``."""
    end = time.perf_counter() + seconds
    with progress(total=None, file=stream, **kwargs) as bar:
        while time.perf_counter() < end:
            bar.update(1)
            time.sleep(0.0005)
    return stream.getvalue()


def test_progress_to_a_pipe_refreshes_rarely(monkeypatch):
    monkeypatch.delenv("TQDM_MININTERVAL", raising=False)
    assert PIPE_MININTERVAL >= 1
    assert refreshes(spin(io.StringIO())) <= 3          # first draw, last draw, close
    assert refreshes(spin(_Terminal())) >= 3           # a terminal keeps tqdm's 0.1 s
    buf = io.StringIO()
    for _ in progress(range(100_000), file=buf):
        pass
    assert refreshes(buf.getvalue()) <= 3


def test_progress_disabled_is_silent():
    buf = io.StringIO()
    assert list(progress(range(1000), file=buf, disable=True)) == list(range(1000))
    assert spin(buf, 0.1, disable=True) == ""


def test_progress_keeps_an_explicit_interval(monkeypatch):
    monkeypatch.delenv("TQDM_MININTERVAL", raising=False)
    with progress(range(3), file=io.StringIO(), mininterval=0.01) as bar:
        assert bar.mininterval == 0.01
    with progress(range(3), file=io.StringIO()) as bar:
        assert bar.mininterval == PIPE_MININTERVAL
