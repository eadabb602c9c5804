"""The model bundle: the one place that builds Lens's models from a config.

A :class:`ModelBundle` holds the embedder, the detection pipeline (and its
Faster R-CNN), Complete The Look's style embedding and the query understanding (with its trained heads and the
skin tone and body type estimators, also reachable alone) of one
:class:`lens.config.LensConfig`, each built on first use from the model
store (:class:`lens.models.ModelStore`).  The façade, the indexing mapper, the
labelling mapper, Ray actors (which rebuild a bundle from the config they
were given) and the test fixtures all take one; nothing else constructs a
model.

Built on first use: a command that only detects never loads the embedder's
heads, and ``lens demo`` can train the heads with ``bundle.embedder`` before
``bundle.understanding`` loads them.

``ModelBundle(config, reuse=other)`` shares ``other``'s parts (building
them there first if needed) whose inputs are unchanged: each part names the config it reads
(:data:`PART_INPUTS`), so a test or a second catalog with a different
``catalog.path`` loads no model twice, and a different ``understanding``
section gets its own understanding over the same embedder.

Thread-safe: parts build under a lock; each model guards itself.
Tested in ``tests/test_bundle.py``.
"""
from __future__ import annotations

import dataclasses
import threading
from typing import Callable

from detection.crops import CropLimits
from detection.pipeline import DetectionPipeline
from detection.pose import PeopleGraphs
from detection.rcnn import ObjectDetector
from lens.complete.serve import Completer
from lens.config import LensConfig
from lens.embeddings import Embedder, make_embedder
from lens.models import ModelStore
from lens.understanding import QueryUnderstanding
from lens.understanding.body import BodyTypeEstimator
from lens.understanding.skin import SkinToneEstimator


def _models_without_heads(config: LensConfig):
    """The model-store settings an embedder or detector reads: all but the trained heads (and
    Complete The Look's checkpoint)."""
    return dataclasses.replace(config.models, category_head="", pattern_head="", compat="")


# part -> the config it is built from: two configs with equal inputs share the part
PART_INPUTS: dict[str, Callable[[LensConfig], tuple]] = {
    "embedder": lambda c: (c.embedder, _models_without_heads(c)),
    "detector": lambda c: (c.detection, _models_without_heads(c)),
    "understanding": lambda c: (c.understanding, c.models, c.embedder),
    "skin_tone": lambda c: (c.understanding, _models_without_heads(c)),
    "body_type": lambda c: (c.understanding, _models_without_heads(c)),
    "people_graphs": lambda c: (),      # mediapipe's segmentation and pose: no settings
    "completer": lambda c: (c.models.compat, _models_without_heads(c)),
}


class ModelBundle:
    """The models of one config, built on first use; see the module docstring."""

    def __init__(self, config: LensConfig, reuse: "ModelBundle | None" = None, **given):
        """``given``: parts made elsewhere (``embedder=``, ``detector=``, ``understanding=``), e.g. a
        test's stand-in detector; every other part is built from ``config`` on first use."""
        unknown = sorted(set(given) - set(PART_INPUTS))
        if unknown:
            raise TypeError(f"ModelBundle: unknown parts {unknown} (valid: {', '.join(PART_INPUTS)})")
        self.config = config
        self.store = ModelStore.from_config(config.models)
        self.limits = CropLimits.from_config(config.detection)
        self._reuse = reuse
        self._built: dict[str, object] = dict(given)
        self._lock = threading.RLock()

    @classmethod
    def from_config(cls, config: LensConfig, reuse: "ModelBundle | None" = None) -> "ModelBundle":
        return cls(config, reuse)

    @property
    def embedder(self) -> Embedder:
        return self._part("embedder", lambda: make_embedder(self.config.embedder, self.store))

    @property
    def detector(self) -> DetectionPipeline:
        return self._part("detector", lambda: DetectionPipeline.from_config(self.config.detection, self.store,
                                                                            self.people_graphs))

    @property
    def understanding(self) -> QueryUnderstanding:
        u = self.config.understanding
        return self._part("understanding", lambda: QueryUnderstanding.from_config(
            u, self.embedder, self.store, self.skin_tone if u.skin_tone else None,
            self.body_type if u.body_type else None))

    @property
    def skin_tone(self) -> SkinToneEstimator:
        """The skin tone estimator (also when ``understanding.skin_tone`` is off: its evaluation)."""
        return self._part("skin_tone", lambda: SkinToneEstimator.from_config(self.config.understanding, self.store))

    @property
    def body_type(self) -> BodyTypeEstimator:
        """The body type estimator (also when ``understanding.body_type`` is off: its evaluation)."""
        return self._part("body_type", lambda: BodyTypeEstimator.from_config(self.config.understanding, self.store,
                                                                             self.people_graphs))

    @property
    def people_graphs(self) -> PeopleGraphs:
        """mediapipe's segmentation and pose, shared by the people detector and body type: an
        image is segmented and posed once (:class:`detection.pose.PeopleGraphs`)."""
        return self._part("people_graphs", PeopleGraphs)

    @property
    def object_detector(self) -> ObjectDetector | None:
        """The detection pipeline's Faster R-CNN, or None when the config has none."""
        return next((d for d in self.detector.detectors if isinstance(d, ObjectDetector)), None)

    @property
    def completer(self) -> Completer:
        """Complete The Look's style embedding (``models.compat``, else the committed checkpoint)
        over the frozen ImageNet MobileNetV2 (:mod:`lens.complete.serve`)."""
        return self._part("completer", lambda: Completer.load(self.store.resolve("mobilenet_v2"),
                                                              self.config.models.compat))

    def built(self) -> list[str]:
        """The parts built (or shared) so far."""
        return list(self._built)

    def _part(self, name: str, build: Callable[[], object]):
        with self._lock:
            if name not in self._built:
                shared = self._shared(name)
                self._built[name] = shared if shared is not None else build()
            return self._built[name]

    def _shared(self, name: str):
        """``reuse``'s part (built there if it is not yet) when both configs give it the same inputs
        (and, for the understanding, the same embedder), else None."""
        other = self._reuse
        if other is None or PART_INPUTS[name](other.config) != PART_INPUTS[name](self.config):
            return None
        if name == "understanding" and other.embedder is not self.embedder:
            return None                  # its heads check the embedder they were trained on
        return getattr(other, name)
