"""The WSGI entry for gunicorn: ``gunicorn -c web/gunicorn.conf.py 'web.wsgi:app'``.

Environment (all optional):

* ``LENS_CONFIG``: config name or YAML path (default ``default``);
* ``LENS_SET``: space-separated ``key=value`` overrides, as ``--set`` takes
  them (e.g. ``"catalog.path=data/demo/catalog server.cache_url=redis://127.0.0.1:6379/1"``);
* ``LENS_CATALOG``: the catalog folder (wins over ``catalog.path``);
* ``LENS_API_KEY``: ``server.api_key``, so the key stays out of YAML files;
* ``LENS_MODEL_THREADS``: each worker's compute threads (torch, onnxruntime, OpenCV); gunicorn.conf.py
  sets it to the worker's share of the cores (:mod:`lens.threads`), 0 leaves the libraries' defaults.

Serving always maps the indexes (``index.mmap=true``; ``LENS_SET`` can say
otherwise): the workers then share one copy of the vectors in the page cache.
Each worker imports this module and loads its own lens (see gunicorn.conf.py
for why the app is not preloaded).
"""
from __future__ import annotations

import os
import shlex

from lens import threads
from lens.config import load_config
from web.app import create_app

SERVING_OVERRIDES = ["index.mmap=true"]


def build():
    overrides = [*SERVING_OVERRIDES, *shlex.split(os.environ.get("LENS_SET", ""))]
    config = load_config(os.environ.get("LENS_CONFIG", "default"), overrides)
    if os.environ.get("LENS_API_KEY"):
        config.server.api_key = os.environ["LENS_API_KEY"]
    config = threads.apply(config, threads.from_env("LENS_MODEL_THREADS"))
    return create_app(config, catalog_dir=os.environ.get("LENS_CATALOG") or None)


app = build()
