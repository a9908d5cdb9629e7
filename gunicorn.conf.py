"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app` (PORT, WEB_CONCURRENCY,
GUNICORN_THREADS and GUNICORN_MAX_REQUESTS from the environment)."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
graceful_timeout = 20
keepalive = 5
# A worker is replaced after this many requests (a guard against slow leaks). Its replacement imports and builds
# the app again: about 0.7 s of CPU, during which requests wait. At 2000, a 4-worker server answering 600 deducts/s
# replaced a worker every 3 s, which cost a fifth of a core and put those waits into the p99 (bench/README.md).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
accesslog = "-"
errorlog = "-"


def post_worker_init(worker):
    """Without Redis, start the periodic jobs' timer thread in each worker, after the fork."""
    from tokenapp.jobs.schedule import ensure_in_process

    ensure_in_process(worker.wsgi)


def worker_exit(server, worker):
    """Without Redis, let the feature runs under way in this worker's thread pool end before it exits."""
    from tokenapp.jobs.queue import finish_in_process

    finish_in_process(worker.wsgi)
