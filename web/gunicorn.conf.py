"""gunicorn settings for Lens: ``gunicorn -c web/gunicorn.conf.py 'web.wsgi:app'``.

Environment: ``LENS_BIND`` (default 127.0.0.1:8000), ``LENS_WORKERS`` (2),
``LENS_THREADS`` (4), ``LENS_MODEL_THREADS`` (each worker's compute threads; default its share of
the cores, :mod:`lens.threads`), plus what web/wsgi.py reads (LENS_CONFIG, LENS_SET, ...).

* ``preload_app = False``: torch (OpenMP / intra-op thread pools) and
  mediapipe (TFLite graphs with their own threads) start threads while
  loading; ``fork()`` copies only the forking thread, so a preloaded model
  can deadlock or crash in a worker on its first inference.  Each worker
  loads its own lens instead (~10-30 s and a few hundred MB each); the big
  part, the indexes, is shared anyway through ``index.mmap`` (the page
  cache holds one copy of the vector files for every worker), and the query
  cache lives in Redis, shared by all workers.  Preloading would also only
  share model weights until Python's reference counting touches the pages.
* ``gthread`` workers: a cache hit (~ms) does not wait behind a cold query
  (0.1-2 s) of the same worker; the lens is thread-safe (each model guards
  itself with a lock).  Workers x threads should not exceed what the
  machine's cores and the models' own threads can use: 2 x 4 on 2 cores.
* ``timeout = 120``: the first queries of a fresh worker load lazily
  initialised parts; a 30 s default would kill them on a busy 2-core host.
"""
import os

from lens.threads import per_process

bind = os.environ.get("LENS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("LENS_WORKERS", "2"))
# each worker's share of the cores for its model threads (web/wsgi.py applies it): 2 workers on
# 2 cores run one compute thread each instead of two fighting over each core
os.environ.setdefault("LENS_MODEL_THREADS", str(per_process(workers)))
worker_class = "gthread"
threads = int(os.environ.get("LENS_THREADS", "4"))
preload_app = False
timeout = 120
graceful_timeout = 30
keepalive = 5
max_requests = 0            # no recycling: a fresh worker pays the model load again
accesslog = os.environ.get("LENS_ACCESS_LOG") or None   # "-" for stdout
loglevel = os.environ.get("LENS_LOG_LEVEL", "info")
