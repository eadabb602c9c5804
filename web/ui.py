"""The upload page (``GET /``); behaviour lives in ``static/app.js`` (search, controls),
``static/stage.js`` (hotspots, drawing a box) and ``static/render.js`` (panel, results)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("ui", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/lens")

# Monk Skin Tone swatches (skintone.google) and the four ranges the skin tone filter takes.
MST_COLORS = ("#f6ede4", "#f3e7db", "#f7ead0", "#eadaba", "#d7bd96",
              "#a07e56", "#825c43", "#604134", "#3a312a", "#292420")
SKIN_RANGES = ((1, "MST 1-3", MST_COLORS[0:3]), (2, "MST 4-5", MST_COLORS[3:5]),
               (3, "MST 6-7", MST_COLORS[5:7]), (4, "MST 8-10", MST_COLORS[7:10]))


@bp.get("/")
def index():
    lens = current_app.extensions["lens"]
    return render_template("index.html", items=len(lens.catalog), k=lens.config.query.k,
                           sources=list(lens.sources), skin_ranges=SKIN_RANGES)
