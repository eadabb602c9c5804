"""Typed configuration, loaded from ``configs/*.yaml`` by :func:`load_config`.

Each section is a dataclass; defaults sit next to their reason.  Unknown keys
and values of the wrong type fail with a ``ValueError`` naming the dotted key
(``index.kind``) and the file.  Any key can be overridden from the command
line with ``--set section.key=value`` (the value is parsed as YAML).
Components read their own section through a ``from_config`` classmethod.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


@dataclass
class ModelsConfig:
    # Where trained checkpoints and copies of weights live; relative paths are
    # resolved against the working directory.
    root: str = "data/models"
    # Optional explicit paths; empty means "look in the standard places".
    mobilenet_v2: str = ""
    coco_detector: str = ""
    # A checkpoint written by `lens train-detector` (its architecture and label
    # names travel inside it); empty = none.  Wins over COCO weights.
    detector_checkpoint: str = ""
    # The heads `lens train-categories` writes (catalog category, pattern); empty = none.
    category_head: str = ""
    pattern_head: str = ""
    # The unified embedding `lens train-embedding` writes (embedder.name: unified); empty =
    # <root>/unified.pt.
    unified: str = ""
    # The Complete The Look style embedding `lens train-compat` writes; empty = the committed one
    # (lens/complete/checkpoints/ccp_compat.pt, trained on CCP's street outfits).
    compat: str = ""


@dataclass
class EmbedderConfig:
    # mobilenet_v2 (ImageNet features, the only backbone with offline weights here) | unified
    # (trained on the catalog by `lens train-embedding`; lens/unified.py)
    name: str = "mobilenet_v2"
    image_size: int = 224           # MobileNetV2's ImageNet training resolution
    batch_size: int = 32            # ~0.5 s per batch on 2 cores; bounded memory
    device: str = "cpu"             # "cuda" where a GPU exists
    # How the model runs on the CPU: "onnx" (onnxruntime over a graph exported once into
    # models.root: 50 ms for a photo and 9 crops on 2 cores, against 202 ms in eager torch; the
    # same vectors within 1e-5, so switching never rebuilds an index) or "torch".
    runtime: str = "onnx"
    # onnxruntime's intra-op threads; 0 = one per core (lens serve sets it from the core count
    # and its workers, so two workers on two cores do not fight over them).
    threads: int = 0


@dataclass
class IndexConfig:
    # auto | flat | hnsw | ivfpq | binary (lens/index/kinds.py, lens/index/binary.py).
    # auto: exact (flat) while a query scans at most auto_flat_max_mb of
    # vectors, HNSW beyond: flat at 100k x 1280-d takes 45 ms a query on 2
    # cores, HNSW 0.7 ms at recall@10 1.0 (bench/index_bench.py).
    kind: str = "auto"
    # 200 MB of float32 per exhaustive scan is ~18 ms on 2 cores, inside the
    # 20 ms a source may take: ~195k vectors at 256-d, ~39k at 1280-d.
    auto_flat_max_mb: float = 200.0
    # Reduce vectors to this many principal components (fitted on the indexed
    # vectors, saved with the index) before indexing; 0 = off: full-dim vectors
    # are exact, PCA trades recall for memory and speed.
    pca_dim: int = 0
    # Map the saved index files instead of reading them (FAISS IO_FLAG_MMAP_IFC,
    # numpy memmap for the float vectors): several servers share one copy in
    # the page cache.  Off: a catalog being indexed is written, not served.
    mmap: bool = False
    hnsw_m: int = 32                # FAISS's usual 32 links per node: high recall at 1280-d
    hnsw_ef_construction: int = 40  # FAISS's default build beam: 100k x 1280-d builds in minutes on 2 cores
    hnsw_ef_search: int = 64        # query beam; widened to k when k is larger
    ivf_nlist: int = 0              # 0 = sqrt(n) lists at training time (>= 39 vectors a list; trains in minutes)
    ivf_nprobe: int = 16            # lists visited per query
    pq_m: int = 0                   # 0 = dim/8 sub-quantisers (1 byte per 8 dims: 32x smaller)
    pq_nbits: int = 8               # 256 centroids per sub-quantiser, FAISS's fast path
    # ivfpq and binary fetch rerank x k candidates and re-rank them by exact
    # float inner product; 10 keeps binary recall@10 >= 0.95 of exact (bench).
    rerank: int = 10
    binary_search: str = "flat"     # flat (exhaustive Hamming, ~ms at 100k) | hnsw (Hamming graph)
    # Which bits: "rotated" (centred, PCA + a random rotation: ImageNet features need it, see
    # lens/index/binary.py), "sign" (the vectors' own sign bits: the unified embedding is
    # trained for them, its layer norm balances every bit) or "auto" (sign for the unified
    # embedding without pca_dim, else rotated).
    binary_codes: str = "auto"
    # FAISS OpenMP threads while searching (process-wide); 0 = FAISS's default
    # (every core).  1: on a busy 2-core machine OpenMP's spin-waits made one
    # binary query at 100k take 122 ms with 2 threads vs 19 ms with 1.
    search_threads: int = 1


@dataclass
class StoreConfig:
    backend: str = "sqlite"         # embedded, needs no server
    redis_url: str = "redis://127.0.0.1:6379/0"
    namespace: str = "lens"         # Redis key prefix, so catalogs can share a server


@dataclass
class CatalogConfig:
    # Folder holding the index, the store and the manifest copy for serving.
    path: str = "data/catalog"


@dataclass
class DetectionConfig:
    faces: bool = True
    # Below the detector's default 0.5: darker faces score lower
    # (../shared/REFERENCE.md §5: 0.61 at MST-10), so a high threshold drops
    # them first.
    face_min_score: float = 0.4
    # Both mediapipe models, merged: short range finds large close-up faces the
    # full-range model scores low, full range finds the small faces in scenes.
    face_models: str = "both"       # short | full | both
    regions: bool = True            # foreground regions (objects on plain backgrounds)
    min_region_fraction: float = 0.01  # ignore specks under 1% of the image
    max_regions: int = 8
    # Faster R-CNN (torchvision).  "auto": the trained checkpoint
    # (models.detector_checkpoint) if set, else the first COCO architecture
    # whose weights are on disk, else none (said once in the log).  Or one of
    # detection.rcnn.ARCHITECTURES, or "none".
    detector: str = "auto"
    device: str = "cpu"             # "cuda" where a GPU exists
    score_threshold: float = 0.5    # torchvision's box_score_thresh is 0.05 (for mAP); 0.5 for hotspots
    # Per-class thresholds (detector label -> score) overriding score_threshold for those classes;
    # configs/default.yaml says how its own were chosen.  A label the detector lacks is an error.
    class_thresholds: dict[str, float] = field(default_factory=dict)
    nms_iou: float = 0.5            # torchvision's per-class NMS default
    max_detections: int = 20        # hotspots a person can still read; COCO eval uses 100
    batch_size: int = 4             # ~0.3-0.7 s per 640-px image on 2 CPU cores
    # How the Faster R-CNN runs on the CPU: "onnx" (its backbone and FPN on onnxruntime, exported
    # once into models.root; the CCP detector on a street photo 133 -> ~85 ms on 2 cores, the same
    # detections; detection/fast.py) or "torch".  Training always uses torch.
    runtime: str = "onnx"
    threads: int = 0                # onnxruntime intra-op threads; 0 = one per core
    # Region proposals the RPN hands the box head at inference (torchvision's rpn_post_nms_top_n_test);
    # 0 keeps the architecture's own (300 for fasterrcnn_mobilenet_v2_fpn, 1000 for torchvision's).
    # The box head's cost is per proposal: configs/default.yaml says how its 200 was chosen.
    proposals: int = 0
    # With runtime onnx, the box head (two fully-connected layers and the class and box layers over
    # each proposal) runs on onnxruntime too: "head" gives its matrix products int8 weights (11 ->
    # 1.4 ms for 300 proposals, one thread; held-out CCP mAP@0.5 0.7246 -> 0.7222, a test keeps it
    # within 0.01), "none" keeps them float32 (4.9 ms).  Training always uses float torch.
    quantize: str = "head"
    # RoIAlign's bilinear samples per bin side at inference (torchvision's sampling_ratio); 0 keeps
    # the architecture's own (2 for fasterrcnn_mobilenet_v2_fpn).  configs/default.yaml says what 1 costs.
    roi_sampling: int = 0
    # People and garments from pose landmarks + person segmentation: a person
    # box and upper body / lower body / footwear regions, no COCO weights needed.
    people: bool = True
    # Crops handed to the object index and the object search.
    crop_pad: float = 0.08          # 8 % context on each side helps the embedder
    # The smallest objects must stay searchable: a worn shoe is 17-35 px high
    # and up to 4.7:1 wide in a 640-px scene, sunglasses 27-40 px high (the
    # bench catalog); 32 px and 4:1 dropped 38 of 82 scenes' shoes.  Under
    # 16 px the embedder's 224-px letterbox holds a sliver.
    crop_min_side: int = 16         # short side, pixels
    crop_max_aspect: float = 6.0    # thinner strips (belts, edges) are not searchable objects
    cross_source_iou: float = 0.7   # boxes from different detectors overlapping this much are one object


@dataclass
class UnderstandingConfig:
    colors: int = 5                 # up to 5 salient colours (issue 3)
    categories_top_k: int = 5
    # OCR: "always" reads every image, "auto" only those lens.understanding.ocr.likely_text
    # passes, "off" never.  Cached and stored per item.  "always": the gate missed the words on 44
    # of 100 Grocery in-store photos while opening on 27 % of CCP street photos, nearly all read
    # as noise; reading every Grocery photo raised 400 train photos' lens top-1 / top-5 from
    # 0.345 / 0.598 (auto) to 0.370 / 0.628 (always, side 320); off: 0.330 / 0.588.
    ocr: str = "always"
    # The short side (px) PP-OCR's text detector sees each image at, scaled up or down; the words
    # are read from the image's own pixels either way.  320: a street photo's OCR 87 -> 15 ms
    # median (no text there to find), an in-store photo's 50 -> 10 ms; on those 400 Grocery photos
    # 736 gave 0.383 / 0.643, 480 0.385 / 0.633, 320 0.370 / 0.628.
    ocr_side: int = 320
    # Understand every detected object crop too (colours, categories, pattern
    # per hotspot); ~5-10 ms a crop, cached by image hash.
    crops: bool = True
    # Inclusive signals, for representation and diversity: skin tone per face,
    # body type per full-body person.  Nothing filters people by them unless a
    # user asks for a range (the opt-in skin_tone_range / body_type_range filters).
    skin_tone: bool = True
    # The skin tone network (lens train-skin-tone): a confirmed face's Monk value from its crop
    # instead of its pixels' normalised colour; "" for the pixels alone.
    skin_tone_net: str = ""
    # On: the DPP's body type dimension and the body_type_range filter need it
    # stored at index time.  A weak signal, weighted so (blend.lens.w_body_type):
    # on synthetic full-body people (seeds 0-2) per-range recall 0.32-0.68 and
    # precision 0.45-0.85 with a detector's person boxes (-c demo), recall
    # 0.18-0.50 with segmentation alone; 0.76-0.84 in trousers (a dress or skirt
    # hides the hips); body types on 0-2.3 % of people-free images.
    # `lens eval body-type` measures it; ~9 ms median an image (make bench).
    body_type: bool = True


@dataclass
class QueryConfig:
    k: int = 20
    # A query's own crops are searched too when they cover less than this
    # fraction of the image (bigger ones are the whole image again).
    region_query_max_fraction: float = 0.8
    # Larger photos are processed at this long side (boxes are reported in the
    # original pixels): detection and colours gain nothing above it.
    max_side: int = 2048
    # Sources every query uses unless it names some (`lens query --source`, the
    # API's "sources"): whole-image kNN, crops matched to catalog crops, and
    # text search driven by the image's annotations (empty when text.enabled is off).
    sources: list[str] = field(default_factory=lambda: ["visual", "object", "text"])


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_mb: int = 20          # phone photos are 3-12 MB
    max_pixels: int = 100_000_000    # decompression-bomb guard, see lens.imageio
    # Key for the write endpoints (POST / DELETE /api/v1/items), sent as
    # "Authorization: Bearer <key>" or "X-API-Key".  Empty = those endpoints
    # answer 403: a fresh install is read-only.  web/wsgi.py also reads LENS_API_KEY.
    api_key: str = ""
    # Where POST /api/v1/items writes uploaded images (the only uploads ever
    # written to disk); empty = <catalog folder>/media.
    media_dir: str = ""
    # Redis URL of the query-result cache (web/cache.py); empty = no cache.
    cache_url: str = ""
    cache_ttl_s: int = 3600          # an hour: entries also die with every catalog change
    # Socket timeouts towards the cache: a query costs 0.1-1 s, so a cache that
    # needs longer is worth less than none.  Not lower: on a busy 2-core host
    # a loopback connect + handshake took over 50 ms (a false "cache down").
    cache_timeout_s: float = 0.25
    # After a cache failure, skip Redis this long before trying again, so an
    # outage costs one timeout per worker per interval, not one per request.
    cache_retry_s: float = 5.0
    # One query on a built-in photo before serving (lens/pipeline/warmup.py): every model, graph
    # and engine loads then, not on a user's first query (a cold first query took 3-20 s).
    warm_up: bool = True


@dataclass
class DemoConfig:
    # The synthetic catalog `make demo` builds: the sizes the issue measures
    # (1,000 products + 300 scenes generate in under 2 minutes on 2 cores).
    products: int = 1000
    scenes: int = 300
    seed: int = 0
    synth_dir: str = "data/demo/synth"


@dataclass
class TextConfig:
    # Text search (issue 5): BM25 + MiniLM over titles, descriptions and
    # annotations, kept in <catalog>/index/text*.  Off: no text index at all.
    enabled: bool = True
    # The semantic half: "minilm" (all-MiniLM-L6-v2, 384-d; see runtime for its
    # cost) or "none" (BM25 alone).
    model: str = "minilm"
    # How MiniLM runs: "onnx" (onnxruntime over a graph exported once into
    # models.root: 2.3 ms a query on 2 cores, the text source's 20 ms budget at
    # 100k items needs it; ~1 s to load once exported) or "torch"
    # (sentence-transformers: 8.7 ms a query, 10-20 s to load).  Same
    # vectors either way (lens/text/minilm.py), so switching never rebuilds an index.
    runtime: str = "onnx"
    # Weight of BM25 in the hybrid (1 - alpha goes to MiniLM): BM25 is exact on
    # colour and pattern words, which MiniLM blurs (red ~ coral); MiniLM knows
    # what BM25 cannot (a tote is a bag, a blouse a top).  0.3 was best of
    # 0 / 0.3 / 0.5 / 0.7 / 0.85 / 1 on every attribute query type of
    # `lens eval text` (1,000 products); BM25 alone (1.0) loses 0.05-0.1.
    alpha: float = 0.3


@dataclass
class SurfaceConfig:
    """DPP diversity on one surface (blender/dpp.py): relevance vs. diversity and what counts."""
    # 0 = relevance order; larger trades relevance for diversity (on z-scored
    # relevance).  0.7 with the category lift and min_ranges: >= 3 skin tone
    # ranges in the top 10 for every synthetic query whose pool holds them, and
    # precision@10 0.918 vs 0.958 with diversity off (drop 4.2 %, goal <= 5 %;
    # make bench's diversity section).  0.75 dropped 5.5-6 % on the bench
    # catalog re-indexed with body types stored (5.5 % even at w_body_type 0).
    theta: float = 0.7
    w_visual: float = 1.0           # visual similarity (near-duplicates look alike)
    w_skin_tone: float = 1.0        # skin tone range: Pinterest's first inclusive dimension
    w_body_type: float = 0.5        # body type range: weaker, the signal abstains more often
    w_color: float = 0.3            # colour family: a page of one colour reads as one result
    window: int = 0                 # sliding window for long lists; 0 = the whole page
    # The page shows at least this many skin tone ranges whenever its candidate
    # pool holds them (blender/diversify.py ensure_ranges; 0 = leave it to the
    # DPP): issue 6's representation goal, kept even where theta would not.
    min_ranges: int = 3


@dataclass
class BlendConfig:
    # Re-rank each page with multidimensional DPP (skin tone, body type, colour,
    # visual), and pull candidates from every skin tone range bucket first, so
    # the ranker has something to diversify.  `lens query --diversity off`.
    diversity: bool = True
    pool: int = 100                 # candidates per source the DPP chooses from (k is 10-50)
    bucket_k: int = 8               # extra candidates per skin tone range bucket and source
    # Items holding the query's likely category (blender/category.py) gain this
    # x its confidence on their fused relevance, before the DPP: 0.5 raised
    # precision@10 from 0.81 to 0.91 on the synthetic catalog (0 = off).
    category_boost: float = 0.5
    # Text from the photo's own labels weighs by its lead (blender/ratios.py text_lead): its best item's
    # calibrated score over its second's, divided by this, capped at 1 (0 = off).  Chosen on two halves of
    # Grocery's 296 validation photos (0.2 best on both for the unified embedding); measured with it on
    # (lens eval retrieval): the unified embedding's whole lens 0.794 / 0.932 -> 0.838 / 0.936 (top-1 /
    # top-5; its visual source 0.835), ImageNet MobileNetV2's 0.335 / 0.682 -> 0.331 / 0.689 (no loss
    # beyond one photo): words that tie several products no longer reorder close visual hits.
    text_lead: float = 0.2
    # The relevance floor (blender/relevance.py): an item is shown only when its visual or object cosine
    # exceeds background_weight x the query's mean cosine with the catalog by at least min_relevance
    # (0 = off).  The scale is the embedder's cosine: another embedder needs its own pair, fitted by
    # `lens eval floor` (lens/evaluation/floor_fit.py).  0.8 / 0.19 are ImageNet MobileNetV2's: on all the
    # fitting photos (2,640 Grocery train photos, 957 pages led by the right product; 1,059 CCP train-fold
    # and tagged street photos searched against Grocery) they keep 0.982 of the right first hits and leave
    # 0.924 of the street photos with no close match (issue 19.6's goals: 0.98, 0.90); keeping 0.99 would
    # leave at best 0.79 unmatched (0.85 / 0.156).  On the validation photos: README "Measured".
    background_weight: float = 0.8
    min_relevance: float = 0.19
    loose: int = 5                  # below-floor items shown after the page when a query asks for them
    lens: SurfaceConfig = field(default_factory=SurfaceConfig)          # the visual lens
    search: SurfaceConfig = field(default_factory=lambda: SurfaceConfig(theta=0.6))   # text search
    related: SurfaceConfig = field(default_factory=lambda: SurfaceConfig(theta=0.8))  # more like this


@dataclass
class LabelingConfig:
    """Weak labelling of detected crops (`lens label-crops`, lens/labeling/) and user-crop logging."""
    # Privacy: boxes users send are logged only when this is turned on.
    log_user_crops: bool = False
    # Privacy: the log holds an image hash and the box, never the pixels, unless this is on.
    keep_user_images: bool = False
    user_crops_path: str = "data/labeling/user_crops.jsonl"   # JSONL log; images go beside it
    neighbours: int = 10            # product neighbours voting per crop: enough to outvote one look-alike
    # Softmax temperature over cosine similarities: 0.05 lets a neighbour 0.05 closer count e (2.7) times more.
    temperature: float = 0.05
    # Cosine of the best neighbour below which a crop is "like nothing in the catalog" (confidence 0),
    # and above which it is fully trusted; between, confidence scales linearly (see lens/labeling/weak.py).
    sim_floor: float = 0.3
    sim_ceil: float = 0.6
    # COCO output keeps crops at or above this (--min-confidence).  0.7 on the synthetic catalog: agreement
    # 0.98, coverage 0.82, and a detector trained on it reached mAP@0.5 0.889 vs 0.965 on true boxes
    # (0.5: agreement 0.96 but 21 % boxes on no object, mAP 0.860); see lens/labeling/README.md.
    min_confidence: float = 0.7
    # Categories a crop's parent image's title/description does not name have their vote multiplied by this
    # (lens/labeling/textprior.py); 1.0 ignores the text.  Seed 1: weak-trained mAP@0.5 0.859 -> 0.891 with
    # one box per object; 0.1 gave 0.895, within noise: the softer 0.25 trusts real, sparser text less.
    unnamed_weight: float = 0.25
    shard_size: int = 32            # images per shard: ~30-60 s of work on 2 cores, lost at most on a crash
    # Crop sources whose confident crops become COCO boxes (the others' are ignore regions).  On CCP
    # validation photos 4 of the 72 kept pose footwear boxes and 16 of 40 pose lower-body boxes lay on a
    # true object (IoU >= 0.5), against 142 of 198 and 61 of 76 of the Faster R-CNN's (lens/labeling/README.md).
    box_sources: list[str] = field(default_factory=lambda: ["rcnn", "user"])


@dataclass
class LensConfig:
    models: ModelsConfig = field(default_factory=ModelsConfig)
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    understanding: UnderstandingConfig = field(default_factory=UnderstandingConfig)
    query: QueryConfig = field(default_factory=QueryConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    demo: DemoConfig = field(default_factory=DemoConfig)
    text: TextConfig = field(default_factory=TextConfig)
    blend: BlendConfig = field(default_factory=BlendConfig)
    labeling: LabelingConfig = field(default_factory=LabelingConfig)
    source_file: str = ""           # which YAML built it (set by load_config)


def _check_value(value: Any, typ: Any, key: str) -> Any:
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(typ):
            try:
                return _check_value(value, option, key)
            except ValueError:
                continue
        raise ValueError(f"{key}: {value!r} does not match {typ}")
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{key}: expected a mapping, got {value!r}")
        key_t, value_t = typing.get_args(typ) or (Any, Any)
        return {_check_value(k, key_t, f"{key} key {k!r}"): _check_value(v, value_t, f"{key}.{k}")
                for k, v in value.items()}
    if origin in (list, Sequence, tuple):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{key}: expected a list, got {value!r}")
        (item_t, *_) = typing.get_args(typ) or (Any,)
        return [_check_value(v, item_t, f"{key}[{i}]") for i, v in enumerate(value)]
    if typ is Any:
        return value
    if typ is type(None):
        if value is None:
            return None
        raise ValueError(f"{key}: expected null, got {value!r}")
    if typ is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(f"{key}: expected true/false, got {value!r}")
    if typ is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(f"{key}: expected an integer, got {value!r}")
    if typ is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ValueError(f"{key}: expected a number, got {value!r}")
    if typ is str:
        if isinstance(value, str):
            return value
        raise ValueError(f"{key}: expected a string, got {value!r}")
    raise ValueError(f"{key}: unsupported type {typ}")


def _build(cls: type, data: Any, prefix: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{prefix or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            where = f"{prefix}.{key}" if prefix else str(key)
            raise ValueError(f"unknown config key '{where}' (valid: {', '.join(sorted(names))})")
    kwargs = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else name
        typ = hints[name]
        if dataclasses.is_dataclass(typ):
            kwargs[name] = _build(typ, value, key)
        else:
            kwargs[name] = _check_value(value, typ, key)
    return cls(**kwargs)


def _set_dotted(data: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ValueError(f"override '{dotted}': '{part}' is not a section")
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """``"index.kind=flat"`` -> ``("index.kind", "flat")``; values parse as YAML."""
    if "=" not in text:
        raise ValueError(f"override '{text}': expected key=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ValueError(f"override '{text}': empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def resolve_config_path(name_or_path: str | Path) -> Path:
    """``"demo"`` -> ``configs/demo.yaml``; a path is used as it is."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return CONFIG_DIR / f"{name_or_path}.yaml"


def load_config(name_or_path: str | Path = "default", overrides: Sequence[str] = ()) -> LensConfig:
    """Load a YAML config and apply ``key=value`` overrides; the one loader.

    Raises ``ValueError`` naming the file and the key for unknown keys, bad
    values or unreadable YAML.
    """
    path = resolve_config_path(name_or_path)
    if not path.is_file():
        raise ValueError(f"config {path}: no such file (configs: "
                         f"{', '.join(p.stem for p in sorted(CONFIG_DIR.glob('*.yaml')))})")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"config {path}: invalid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ValueError(f"config {path}: expected a mapping at the top level")
    for text in overrides:
        key, value = parse_override(text)
        _set_dotted(data, key, value)
    data.pop("source_file", None)
    try:
        config = _build(LensConfig, data, "")
    except ValueError as exc:
        raise ValueError(f"config {path}: {exc}") from None
    config.source_file = str(path)
    return config


def config_to_dict(config: LensConfig) -> dict:
    return dataclasses.asdict(config)
