# gunicorn settings for the web site: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.
# Sizing: see docs/deployment.md. Every MARKETPLACE_* setting comes from the environment (the unit file).
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: each request is a short database transaction; 2 × cores + 1 keeps the CPUs busy while
# some workers wait on the database. The live auction room polls every 1–2 s: count ~1 request/s per
# phone in the room when sizing.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = 1
timeout = 60  # imports of big spreadsheets run in the request: raise if yours take longer
graceful_timeout = 30
max_requests = 5000  # recycle workers now and then: memory stays flat
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = "127.0.0.1"
