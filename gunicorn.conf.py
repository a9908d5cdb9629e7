"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app` (PORT and WEB_CONCURRENCY from the environment)."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"


def post_worker_init(worker):
    """Without Redis, start the periodic jobs' timer thread in each worker, after the fork."""
    from tokenapp.jobs.schedule import ensure_in_process

    ensure_in_process(worker.wsgi)
