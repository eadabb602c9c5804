"""The upload page (``GET /``); behaviour lives in ``static/app.js`` (search, controls),
``static/stage.js`` (hotspots, drawing a box) and ``static/render.js`` (panel, results).

The Monk Skin Tone scale and our four ranges come from :func:`lens.palette.skin_tone_scale`:
the template draws the filter from it and embeds it as JSON (``#skin-tone-scale``) for the JS."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from lens.palette import skin_tone_scale
from web.api import runtimes

bp = Blueprint("ui", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/lens")



@bp.get("/")
def index():
    lens = current_app.extensions["lens"]
    return render_template("index.html", items=len(lens.catalog), k=lens.config.query.k,
                           embedder=lens.models.embedder.settings(), runtime=runtimes(lens.models),
                           sources=list(lens.sources), skin_tone=skin_tone_scale())   # the page's one copy
