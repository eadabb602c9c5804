"""The Flask app: ``create_app`` (the factory) and ``init_app`` (``web/__init__.py`` stays empty, so ``lens --help`` can import ``web.commands`` without the pipeline).

The lens (models and indexes) loads once per process in :func:`init_app`
and lives in ``app.extensions["lens"]``; the query cache (:mod:`web.cache`,
None when ``server.cache_url`` is empty) in ``app.extensions["cache"]`` and
the request figures (:mod:`web.metrics`) in ``app.extensions["metrics"]``.
Blueprints: :mod:`web.ui` (the upload page) and :mod:`web.api` (``/api/v1``,
with the write endpoints of :mod:`web.items`).  Library code raises
``ValueError``/``TypeError``; only this package turns them into HTTP codes.
Serving under gunicorn: :mod:`web.wsgi`, ``web/gunicorn.conf.py``.
"""
from __future__ import annotations

import logging

from flask import Flask

from lens.config import load_config
from lens.pipeline.facade import Lens
from lens.pipeline.warmup import warm_up
from web import api, items, metrics, openapi, ui  # noqa: F401  (items and openapi add their routes to api.bp)
from web.cache import CatalogToken, QueryCache

log = logging.getLogger(__name__)


def init_app(app: Flask, lens) -> None:
    """Attach a loaded :class:`lens.pipeline.facade.Lens` (and its cache, metrics) to ``app``."""
    app.extensions["lens"] = lens
    app.config["MAX_CONTENT_LENGTH"] = lens.config.server.max_upload_mb * 1024 * 1024
    app.extensions["cache"] = QueryCache.from_config(lens.config.server)
    app.extensions["catalog_token"] = CatalogToken(lens.catalog)
    if "metrics" not in app.extensions:
        metrics.install(app)


def create_app(config=None, lens=None, catalog_dir: str | None = None) -> Flask:
    """Build the app; loads a Lens from ``config`` unless one is given, and then warms it up
    (``server.warm_up``: :mod:`lens.pipeline.warmup`) before it takes a request."""
    app = Flask(__name__)
    warm = None
    if lens is None:
        lens = Lens.from_config(config or load_config("default"), catalog_dir=catalog_dir)
        if lens.config.server.warm_up:
            warm = warm_up(lens)
            log.info("warmed up in %.0f ms", warm["ms"])
    init_app(app, lens)
    app.extensions["warm_up"] = warm
    app.register_blueprint(ui.bp)
    app.register_blueprint(api.bp)
    api.register_error_handlers(app)
    return app
