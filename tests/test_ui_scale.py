"""The Monk Skin Tone scale has one source (lens.palette): the upload page and its JS read it from the server."""
from __future__ import annotations

import json
import re
from pathlib import Path

from lens.palette import MST_HEX, MST_RANGES, skin_tone_scale
from web.app import create_app

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"


def test_the_scale_follows_the_palette():
    scale = skin_tone_scale()
    assert scale["mst"] == MST_HEX and [r["range"] for r in scale["ranges"]] == [1, 2, 3, 4]
    for r in scale["ranges"]:
        members = [m for m in range(r["first"], r["last"] + 1)]
        assert all(MST_RANGES[m] == r["range"] for m in members)
        assert r["colors"] == [MST_HEX[m - 1] for m in members] and r["label"] == f"MST {r['first']}-{r['last']}"
    assert sum(len(r["colors"]) for r in scale["ranges"]) == 10      # every MST value in exactly one range


def test_the_page_embeds_the_scale_and_no_asset_copies_it(lens_factory):
    app = create_app(lens=lens_factory())
    app.testing = True
    html = app.test_client().get("/").get_data(as_text=True)
    embedded = re.search(r'<script id="skin-tone-scale" type="application/json">(.*?)</script>', html, re.S)
    assert embedded and json.loads(embedded.group(1)) == skin_tone_scale()
    assert 'aria-label="Skin tone range 2, MST 4-5"' in html          # the filter is drawn from it too
    for asset in STATIC.glob("*.js"):
        text = asset.read_text().lower()
        assert not [h for h in MST_HEX if h in text], f"{asset.name} copies the MST colours"
