"""``lens serve``: the upload page and the REST API on Flask's development server.

:func:`add_parsers` registers ``serve`` and returns ``{"serve": cmd_serve}``
(the convention of every package's ``commands`` module).  Production serving
is ``gunicorn -c web/gunicorn.conf.py web.wsgi:app`` (``web/README.md``).

Tested in ``tests/test_serve.py``.
"""
from __future__ import annotations


def add_parsers(sub) -> dict:
    v = sub.add_parser("serve", help="run the web UI and REST API (development server)")
    v.add_argument("--host")
    v.add_argument("--port", type=int)
    v.add_argument("--catalog", help="catalog folder (default: catalog.path)")
    return {"serve": cmd_serve}


def cmd_serve(args, config) -> int:
    from web.app import create_app  # deferred: the app loads the pipeline (torch); `lens --help` must not

    host = args.host or config.server.host
    port = args.port or config.server.port
    app = create_app(config, catalog_dir=args.catalog)
    print(f"Lens is serving on http://{host}:{port}", flush=True)
    app.run(host=host, port=port, threaded=True)
    return 0
