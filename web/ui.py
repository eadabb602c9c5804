"""The upload page (``GET /``); all behaviour lives in ``static/app.js``."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("ui", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/lens")


@bp.get("/")
def index():
    lens = current_app.extensions["lens"]
    return render_template("index.html", items=len(lens.catalog), k=lens.config.query.k,
                           sources=list(lens.sources))
