"""The core ``lens`` commands' parsers: ``models``, ``synth``, ``index``, ``query``, ``detect``,
``train-categories``, ``train-skin-tone``, ``train-compat``, ``demo``.

:func:`add_parsers` registers their parsers and returns ``{name:
"cli.handlers:cmd_NAME"}``: the handlers live in :mod:`cli.handlers`, which
loads torch, FAISS and mediapipe, and :mod:`cli.main` imports it only to run
one of them (``lens --help`` must not wait for them).

Tested in ``tests/test_cli.py``.
"""
from __future__ import annotations

import os


def add_parsers(sub) -> dict:
    """Register the core commands on ``sub`` (argparse sub-parsers)."""
    m = sub.add_parser("models", help="list, fetch or prepare model weights")
    m.add_argument("action", nargs="?", default="list", choices=["list", "fetch", "prepare"])
    m.add_argument("names", nargs="*", help="models to fetch")
    m.add_argument("--json", action="store_true", help="print JSON")

    s = sub.add_parser("synth", help="generate the synthetic ground-truth catalog")
    s.add_argument("out")
    s.add_argument("--products", type=int, default=1000)
    s.add_argument("--scenes", type=int, default=300)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    s.add_argument("--styles", action="store_true",
                   help="each scene draws a style (monochrome, neutral + accent, complementary; a colour family) "
                        "and shows only products it admits: Complete The Look's ground truth (lens/synth/styles.py)")

    i = sub.add_parser("index", help="add, update or delete catalog items (resumes where it stopped)")
    i.add_argument("path", nargs="?", help="a folder of images or a JSONL manifest (same as --add)")
    i.add_argument("--add", metavar="PATH", help="a folder of images or a JSONL manifest to add")
    i.add_argument("--update", action="store_true",
                   help="re-index items already in the catalog (new image, metadata or models)")
    i.add_argument("--delete", nargs="+", metavar="ID", help="remove these item ids (and their crops)")
    i.add_argument("--catalog", help="catalog folder (default: catalog.path)")
    i.add_argument("--rebuild", action="store_true", help="start the catalog from empty")
    i.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="map batches in this process (default) or on Ray Data")
    i.add_argument("--ray-address", default="local", help="Ray cluster: local (start one), auto or ADDRESS")
    i.add_argument("--workers", type=int, default=2, help="Ray actors that map batches (default 2)")

    q = sub.add_parser("query", help="search the catalog with an image; prints JSON")
    q.add_argument("image")
    q.add_argument("--box", help="search this region: x1,y1,x2,y2 in pixels")
    q.add_argument("--k", type=int, help="results to return (default: query.k)")
    q.add_argument("--catalog", help="catalog folder (default: catalog.path)")
    q.add_argument("--source", action="append", metavar="NAME",
                   help="visual, object, text or all (repeatable or comma-separated; default: query.sources)")
    q.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                   help="category, color, skin_tone_range or body_type_range (repeatable)")
    q.add_argument("--text", help="words for the text source (default: the image's annotations)")
    q.add_argument("--loose", action="store_true",
                   help="also the best few results under the relevance floor (blend.min_relevance), marked loose")
    q.add_argument("--complete", action="store_true",
                   help="also Complete The Look: catalog products that go with the scene (with --box: with the "
                        "scene that box is blanked out of)")
    q.add_argument("--diversity", choices=["on", "off"],
                   help="DPP diversity over skin tone, body type and colour (default: blend.diversity)")

    dt = sub.add_parser("detect", help="detect objects, faces, people and garments; prints JSON")
    dt.add_argument("image")
    dt.add_argument("--preview", metavar="OUT", help="also write an annotated image here (.jpg/.png)")

    t = sub.add_parser("train-categories", help="train the category and pattern heads from a manifest")
    t.add_argument("--manifest", required=True, help="a JSONL manifest (or its folder) with labels")
    t.add_argument("--fields", default="category,pattern",
                   help="labelled fields to train heads for (default: category,pattern)")
    t.add_argument("--holdout", type=float, default=0.2, help="share of products held out (0.2)")
    t.add_argument("--val", metavar="MANIFEST", help="evaluate on this manifest instead (e.g. `lens data "
                                                     "clothing`'s val.jsonl); then --manifest all trains")
    t.add_argument("--seed", type=int, default=0)
    st = sub.add_parser("train-skin-tone", help="train the skin tone network on CCP people re-toned to every "
                                                "Monk value (lens eval skin-tone --real measures it)")
    st.add_argument("--real", metavar="DATA", required=True, help="the data root holding ccp/ as published (bearpaw/clothing-co-parsing)")
    st.add_argument("--out", default="lens/understanding/checkpoints/skin_tone_net.pt",
                    help="checkpoint (default: the committed one, lens/understanding/checkpoints/)")
    st.add_argument("--epochs", type=int, default=10, help="epochs (default 10: ~1.5-3 min each on 2 cores)")
    st.add_argument("--arch", default="context-exposure", choices=("context-exposure", "plain"),
                    help="context-exposure (default): the crop scaled by the light around the face first; "
                         "plain: the first network, which reads the camera's exposure as skin")
    st.add_argument("--limit", type=int, default=0, help="at most N training photos (default all)")
    st.add_argument("--resume", action="store_true", help="go on from --out's last epoch")
    e = sub.add_parser("train-embedding", help="train the unified embedding (embedder.name: unified) on a "
                                               "catalog's labels: product, category, colour, pattern")
    e.add_argument("--manifest", required=True, action="append",
                   help="a JSONL manifest (or its folder); repeat to add camera photos (scenes, user photos) "
                        "that name their product")
    e.add_argument("--tasks", default="product,category,color,pattern",
                   help="tasks among product, category, color, pattern, text-clusters, boards "
                        "(default: product,category,color,pattern; a field task is skipped where unlabelled)")
    e.add_argument("--out", help="checkpoint (default: models.unified, else models.root/unified.pt)")
    e.add_argument("--epochs", type=int, default=6, help="epochs (default 6: ~1.5 min each on Grocery, 2 cores)")
    e.add_argument("--views", type=int, default=4, help="augmented views per camera photo (default 4)")
    e.add_argument("--catalog-views", type=int, default=16, help="augmented views per catalog photo (default 16)")
    e.add_argument("--holdout", type=float, default=0.1,
                   help="share of each product's camera photos held out for the per-epoch report (0.1)")
    e.add_argument("--clusters", type=int, default=0, help="text-clusters: how many (default ~sqrt(products))")
    e.add_argument("--resume", action="store_true", help="go on from OUT.resume's last epoch")
    e.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("train-compat", help="train Complete The Look's style embedding on boxed scenes "
                                            "(a garment class blanked out of a scene, its crop the positive)")
    c.add_argument("--manifest", required=True, help="boxed scenes to train on (e.g. `lens data ccp`'s masked-train.jsonl)")
    c.add_argument("--val", required=True, help="boxed scenes held out for the per-epoch figures (masked-val.jsonl)")
    c.add_argument("--out", help="checkpoint (default: models.compat, else the committed "
                                 "lens/complete/checkpoints/ccp_compat.pt)")
    c.add_argument("--epochs", type=int, default=30, help="epochs (default 30: ~2 s each on CCP; encoding ~2.5 min)")
    c.add_argument("--resume", action="store_true", help="go on from OUT.resume's last epoch")
    c.add_argument("--seed", type=int, default=0)
    d = sub.add_parser("demo", help="build the demo catalog and serve it (or run one query)")
    d.add_argument("--no-serve", action="store_true", help="run one sample query and print it")
    d.add_argument("--catalog", choices=["synthetic", "grocery"], default="synthetic",
                   help="synthetic (generated, default) or grocery: the real Grocery Store catalog at PATH")
    d.add_argument("path", nargs="?", help="--catalog grocery: the Grocery Store dataset's folder")
    return {name: f"cli.handlers:cmd_{name.replace('-', '_')}" for name in
            ("models", "synth", "index", "query", "detect", "train-categories", "train-skin-tone", "train-embedding", "train-compat",
             "demo")}
