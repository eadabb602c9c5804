"""The lens façade: ``Lens(image) -> LensResult``.

``Lens.__call__`` is the list of stages, one call each:

1. decode (:meth:`lens.pipeline.analysis.Analyzer.decode`): any mode, EXIF,
   size guard, the working copy (``query.max_side``) and the image hash;
2. analyse (:meth:`~lens.pipeline.analysis.Analyzer.analyze` with
   :data:`~lens.pipeline.analysis.QUERY`): detect (Faster R-CNN objects,
   faces, people and garments, foreground regions) -> crops (no faces or whole
   people; de-duplicated; padded) -> embed the image (or the user's box) and
   every crop in one batch -> understand the image (colours, lighting,
   quality, categories, patterns, text, annotations, skin tone, body type)
   and every crop (``understanding.crops``);
3. plan: :func:`blender.ratios.plan` -> source ratios from the understanding;
4. retrieve: every chosen source (:mod:`blender.sources`), within the filters
   (:mod:`blender.filters`), plus one search per skin tone range bucket when
   diversifying and the query or its candidates show people
   (:mod:`blender.dimensions`, :mod:`blender.diversify`);
5. blend: :func:`blender.blend.blend` (calibrated scores, weighted fusion),
   the category lift (:mod:`blender.category`), then the DPP re-rank
   (:func:`blender.diversify.diversify`, over the dimensions that apply to
   this query) -> the page, with each item's
   stored metadata.

Models come from one :class:`lens.pipeline.bundle.ModelBundle`, indexes from
the :class:`lens.catalog.Catalog`, both opened once in :meth:`Lens.from_config`;
a ``Lens`` is safe to share between threads (each model guards itself).
Per-stage timings (ms) come back in the result.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Sequence

from blender.blend import blend
from blender.calibrate import calibration_for
from blender.category import lift, query_category
from blender.dimensions import people_dimensions
from blender.diversify import bucket_allowed, diversify
from blender.filters import allowed_ids
from blender.ratios import check_text_lead, plan, text_agreement, text_lead, weigh_text
from blender.relevance import IMAGE_SOURCES, check_settings, split
from blender.sources import make_sources
from lens.boxes import Box, make_box
from lens.catalog import Catalog
from lens.config import LensConfig
from lens.imageio import ImageSource
from lens.pipeline.analysis import QUERY, Analyzer, Decoded, ImageAnalysis
from lens.pipeline.bundle import ModelBundle
from lens.pipeline.usercrops import log_user_crop
from lens.types import Filters, LensResult, SourceQuery

log = logging.getLogger(__name__)
RESULT_FIELDS = ("title", "kind", "category", "color", "pattern", "image", "width", "height")


def _in_original(detection, factor: float) -> dict:
    """A detection found on the working copy, with its box in original pixels."""
    out = detection.to_dict()
    if factor != 1.0:
        out["box"] = detection.box.scale(1.0 / factor).as_list()
        if "keypoints" in out:
            out["keypoints"] = {k: [round(x / factor, 1), round(y / factor, 1)]
                                for k, (x, y) in out["keypoints"].items()}
    return out


def _people_in_original(understanding: dict, factor: float, query_box: Box | None) -> dict:
    """Face and person boxes of the (working-copy or box-crop) understanding, in original pixels."""
    dx, dy = (query_box.x1, query_box.y1) if query_box is not None else (0.0, 0.0)
    scale = 1.0 / factor            # the box crop was cut from the working copy too
    for entry, key in [*((t, "face_box") for t in understanding.get("skin_tones", [])),
                       *((b, "person_box") for b in understanding.get("body_types", []))]:
        if entry.get(key):
            x1, y1, x2, y2 = entry[key]
            entry[key] = Box(x1 * scale + dx, y1 * scale + dy, x2 * scale + dx,
                             y2 * scale + dy).as_list()
    return understanding


def _brief(understanding: dict) -> dict:
    """A crop's understanding without the heavy parts (what the UI shows per hotspot)."""
    return {k: understanding[k] for k in ("colors", "categories", "patterns", "annotations")}


@dataclass(frozen=True)
class Request:
    """One query's validated settings."""

    k: int
    sources: list[str]
    filters: Filters
    diversity: bool
    text: str | None
    loose: bool = False          # also the best few below the relevance floor, marked "loose"


class Lens:
    """Visual discovery over one catalog; see the module docstring for the stages."""

    def __init__(self, config: LensConfig, models: ModelBundle, catalog: Catalog,
                 source_names: Sequence[str] | None = None):
        self.config, self.models, self.catalog = config, models, catalog
        check_settings(config.blend.min_relevance, config.blend.loose, config.blend.background_weight)
        check_text_lead(config.blend.text_lead)
        self.analyzer = Analyzer(models)
        names = list(source_names or config.query.sources)
        self.sources = {s.name: s for s in make_sources(names, catalog)}
        self._calibrated = None     # (catalog version, Calibration)

    @classmethod
    def from_config(cls, config: LensConfig, catalog_dir: str | None = None,
                    models: ModelBundle | None = None, rebuild: bool = False) -> "Lens":
        """``models``: a bundle to share (or to reuse the unchanged parts of); else one is built.
        ``rebuild``: the catalog starts from empty (an index of another embedder is dropped, not refused)."""
        models = models if models is not None and models.config is config else ModelBundle(config, reuse=models)
        return cls(config, models, Catalog.open(config, models.embedder.settings(), catalog_dir, rebuild))

    @property
    def embedder(self):
        return self.models.embedder

    @property
    def detector(self):
        return self.models.detector

    @property
    def understanding(self):
        return self.models.understanding

    def __call__(self, image: ImageSource, box: Sequence[float] | Box | None = None,
                 k: int | None = None, sources: Sequence[str] | None = None,
                 filters: Filters | dict | None = None, text: str | None = None,
                 diversity: bool | None = None, loose: bool = False, complete: bool = False) -> LensResult:
        """Search the catalog with ``image`` (path, bytes, PIL or H x W x 3 array).

        ``box``: pixel x1, y1, x2, y2 of the region to search (then no detection
        runs: the regions came with the first call); ``sources``: a subset of
        the configured ones (default: all); ``filters``: see
        :class:`lens.types.Filters`; ``text``: the user's words for the
        text source (default: the image's annotations); ``diversity``: DPP
        re-ranking and bucketized candidates (default: ``blend.diversity``); ``loose``: when items
        fall under the relevance floor (``blend.min_relevance``), the best few of them follow the
        page, marked ``loose`` (:mod:`blender.relevance`); ``complete``: also Complete The Look's
        products that go with the scene (or with the box, blanked), in ``result.complete``.
        """
        timings: dict[str, float] = {}
        request = self._request(k, sources, filters, text, diversity, loose)
        with _timed(timings, "decode"):
            decoded = self.analyzer.decode(image, self.config.server.max_pixels, self.config.query.max_side)
        query_box = self._query_box(box, decoded)
        analysis = self.analyzer.analyze([decoded], QUERY, [_scaled(query_box, decoded)], timings)[0]
        understanding = analysis.understanding.to_dict()
        query, mix = self._plan(analysis, understanding, decoded, query_box, request)
        results, pool = self._retrieve(query, request, timings, mix, understanding)
        completed = self._complete(analysis, decoded, query_box, request, timings) if complete else None
        timings["total"] = round(sum(timings.values()), 2)
        result = self._result(decoded, analysis, understanding, query_box, request, results, timings,
                              {**mix.to_dict(), "diversity": request.diversity, **pool})
        result.complete = completed
        return result

    def _complete(self, a: ImageAnalysis, decoded: Decoded, query_box: Box | None, request: Request,
                  timings: dict) -> dict:
        """Complete The Look (:mod:`lens.complete.serve`), its items with their stored fields and its
        attention cells in original pixels."""
        with _timed(timings, "complete"):
            out = self.models.completer(a.rgb, a.regions, self.catalog, request.k, _scaled(query_box, decoded),
                                        self.config.blend.lens.theta)
        stored = self.catalog.items([i["id"] for i in out["items"]])
        out["items"] = [{**i, "rank": n, **{f: item[f] for f in RESULT_FIELDS if f in item}}
                        for n, (i, item) in enumerate(zip(out["items"], stored), 1) if item is not None]
        out["attention"] = {c: [[v / decoded.factor for v in cell[:4]] + [cell[4]] for cell in cells]
                            for c, cells in out["attention"].items()}
        return out

    def _request(self, k, sources, filters, text, diversity, loose=False) -> Request:
        k = self.config.query.k if k is None else int(k)
        if k < 1:
            raise ValueError(f"k {k}: must be at least 1")
        filters = filters if isinstance(filters, Filters) else Filters.parse(filters)
        diversity = self.config.blend.diversity if diversity is None else bool(diversity)
        return Request(k, self._chosen(sources), filters, diversity, text, bool(loose))

    def _query_box(self, box, decoded: Decoded) -> Box | None:
        """The user's box in original pixels (validated), logged when ``labeling.log_user_crops``."""
        h, w = decoded.original.shape[:2]
        query_box = None if box is None else box if isinstance(box, Box) else make_box(box, (w, h))
        log_user_crop(self.config, decoded.original, query_box, decoded.digest)
        return query_box

    def _plan(self, a: ImageAnalysis, u: dict, decoded: Decoded, query_box: Box | None, request: Request):
        """What each source searches with, and the source ratios the understanding ``u`` implies."""
        rgb, factor = a.rgb, decoded.factor
        small = self.config.query.region_query_max_fraction * rgb.shape[0] * rgb.shape[1]
        plain = any(r.source == "regions" for r in a.regions)    # objects found on a backdrop
        query = SourceQuery(a.vector, query_box.as_list() if query_box else None,
                            [(v, c.box.scale(1.0 / factor).as_list(), c.label)
                             for v, c in zip(a.crop_vectors, a.crops) if c.box.area < small],
                            text=request.text, annotations=u["annotations"], one_object=plain)
        mix = plan(u, [c.to_dict() for c in a.crops], query_box is not None, request.sources, plain)
        return query, mix

    def _result(self, decoded: Decoded, a: ImageAnalysis, u: dict, query_box: Box | None, request: Request,
                results: list[dict], timings: dict, blend_report: dict) -> LensResult:
        h, w = decoded.original.shape[:2]
        return LensResult({"width": w, "height": h, "hash": decoded.digest},
                          _regions(a, decoded.factor), _people_in_original(u, decoded.factor, query_box), results,
                          query_box.as_list() if query_box else None, request.sources, timings,
                          request.filters.to_dict(), blend_report, self.embedder.settings())

    def _chosen(self, sources: Sequence[str] | None) -> list[str]:
        if sources is None or list(sources) == ["all"]:
            return list(self.sources)
        unknown = [s for s in sources if s not in self.sources]
        if unknown or not sources:
            raise ValueError(f"sources {list(sources)}: expected some of {', '.join(self.sources)} or all")
        return list(dict.fromkeys(sources))

    def _retrieve(self, query: SourceQuery, request: Request, timings: dict, mix,
                  understanding: dict) -> tuple[list[dict], dict]:
        """Sources (plus one search per skin tone bucket when diversifying) -> blend -> category
        lift -> DPP -> page, and a report of the query category and the diversity pool's summary."""
        settings, report = self.config.blend, {}
        candidates, people = self._search(query, request, timings, understanding)
        with _timed(timings, "blend"):
            blended, cut, floor = self._fuse(candidates, request, mix, understanding, report)
        if request.diversity:
            with _timed(timings, "diversity"):
                blended = diversify(self.catalog, blended, request.k, settings.lens, report, people)
        loose = cut.below[:settings.loose] if request.loose else []
        report["relevance"] = cut.report(floor, len(loose), settings.background_weight)
        page = self._page(blended)
        return page + self._page(loose, start=len(page), loose=True), report

    def _search(self, query: SourceQuery, request: Request, timings: dict, understanding: dict):
        """Every chosen source's candidates (a pool of ``blend.pool`` when diversifying, plus
        ``bucket_k`` per skin tone range bucket where people apply), each source timed, and
        :func:`blender.dimensions.people_dimensions`'s answer."""
        settings, diversity = self.config.blend, request.diversity
        with _timed(timings, "filter"):
            allowed = allowed_ids(self.catalog, request.filters)
        depth = max(request.k, settings.pool) if diversity else request.k
        candidates = []
        for name in request.sources:
            with _timed(timings, f"source.{name}"):
                candidates.extend(self.sources[name].search(query, depth, allowed))
        people = people_dimensions(self.catalog, understanding, candidates) if diversity else (False, "")
        if people[0]:
            with _timed(timings, "source.buckets"):
                for bucket in bucket_allowed(self.catalog, request.filters):
                    for name in request.sources:
                        candidates.extend(self.sources[name].search(query, settings.bucket_k, bucket))
        return candidates, people

    def _fuse(self, candidates: list, request: Request, mix, understanding: dict, report: dict):
        """Candidates -> blended items above the floor, category-lifted (the page's ``k`` unless
        diversifying: the DPP keeps every candidate), the floor's cut and the floor used."""
        settings = self.config.blend
        # text from the photo's own labels weighs by its agreement with the pixels; the user's does not
        own = not (request.text or "").strip()
        agreement = text_agreement(candidates) if own else None
        lead = text_lead(candidates, self._calibration(), settings.text_lead) if own else None
        mix = weigh_text(mix, agreement, lead)
        report.update(ratios=mix.ratios, reason=mix.reason, text_agreement=agreement, text_lead=lead)
        blended = blend(candidates, len(candidates), mix.ratios, self._calibration())
        # the floor judges image evidence: a request that searched no image source is not floored
        floor = settings.min_relevance if set(request.sources) & set(IMAGE_SOURCES) else 0.0
        cut = split(blended, floor, settings.background_weight)
        category = query_category(self.catalog, cut.close, understanding)
        blended, lifted = lift(self.catalog, cut.close, category, settings.category_boost)
        report["category"] = {**category.to_dict(), "lifted": lifted} if category else None
        return (blended if request.diversity else blended[:request.k]), cut, floor

    def _calibration(self):
        """The catalog's score calibration for every source, fitted once per catalog version."""
        if self._calibrated is None or self._calibrated[0] != self.catalog.version:
            self._calibrated = (self.catalog.version, calibration_for(self.catalog, self.sources))
        return self._calibrated[1]

    def _page(self, blended, start: int = 0, loose: bool = False) -> list[dict]:
        items = self.catalog.items([b.item_id for b in blended]) if blended else []
        page: list[dict] = []
        for b, item in zip(blended, items):
            if item is None:    # a vector whose store write never finished
                continue
            entry = {"id": b.item_id, "rank": start + len(page) + 1, "score": round(b.score, 4),
                     "sources": b.sources, "provenance": b.provenance, **({"loose": True} if loose else {})}
            entry.update({f: item[f] for f in RESULT_FIELDS if f in item})
            page.append(entry)
        return page


@contextmanager
def _timed(timings: dict, stage: str):
    start = time.perf_counter()
    yield
    timings[stage] = round((time.perf_counter() - start) * 1000, 2)


def _scaled(box: Box | None, decoded: Decoded) -> Box | None:
    """A box in original pixels, in the working copy's."""
    return None if box is None else box.scale(decoded.factor)


def _regions(a: ImageAnalysis, factor: float) -> list[dict]:
    """The regions in original pixels, each object's crop box and brief understanding on its region."""
    out = [_in_original(d, factor) for d in a.regions]
    for crop, u in zip(a.crops, a.crop_understandings):
        at = max(range(len(a.regions)), key=lambda r: a.regions[r].box.iou(crop.detection_box))
        out[at]["crop_box"] = crop.box.scale(1.0 / factor).as_list()
        out[at]["understanding"] = _brief(u.to_dict())
    return out
