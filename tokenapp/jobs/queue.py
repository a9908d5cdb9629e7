"""Putting a job on the queue: RQ on Redis when REDIS_URL is set, else a thread pool here.

Jobs are module-level functions taking ids (RQ imports them by name in the
worker). With Redis, any `flask worker` on any machine takes them; without it
(`make run`, most tests) they run in this process, as feature runs always did.
"""

import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from .context import run_in_app

QUEUE_NAME = "tokenapp"
FINISHED_JOB_TTL_SECONDS = 60  # long enough for `rq info` and the bench to read its timings
FAILED_JOB_TTL_SECONDS = 7 * 24 * 3600


class QueueUnavailable(Exception):
    """Redis did not take the job or answer a question about the queue."""


def enqueue(func: Callable, *args) -> str:
    """Queue `func(*args)` to run in the background; the job's id."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy, typed as Flask
    if app.config["REDIS_URL"]:
        return _enqueue_on_redis(app, func, args)
    return _threads(app).submit(app, func, args)


def depth(app: Flask) -> int:
    """Jobs waiting to start; raises QueueUnavailable when Redis does not answer."""
    if not app.config["REDIS_URL"]:
        return _threads(app).waiting
    try:
        return rq_queue(app).count
    except RedisError as error:
        raise QueueUnavailable(str(error)) from error


def ping_redis(app: Flask) -> None:
    """Raise QueueUnavailable unless Redis answers."""
    try:
        redis_connection(app).ping()
    except RedisError as error:
        raise QueueUnavailable(str(error)) from error


_CONNECTIONS: dict[tuple[int, str], Redis] = {}


def redis_connection(app: Flask) -> Redis:
    """This process's Redis client for the app's REDIS_URL (redis-py reconnects after a fork)."""
    key = (id(app), app.config["REDIS_URL"])
    connection = _CONNECTIONS.get(key)
    if connection is None:
        connection = _CONNECTIONS[key] = Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=10, health_check_interval=30
        )
    return connection


def rq_queue(app: Flask) -> Queue:
    """The RQ queue every job goes to."""
    return Queue(QUEUE_NAME, connection=redis_connection(app))


def _enqueue_on_redis(app: Flask, func: Callable, args: tuple) -> str:
    try:
        job = rq_queue(app).enqueue(
            func,
            args=args,
            job_timeout=app.config["JOB_TIMEOUT_SECONDS"],
            result_ttl=FINISHED_JOB_TTL_SECONDS,
            failure_ttl=FAILED_JOB_TTL_SECONDS,
        )
    except RedisError as error:
        raise QueueUnavailable(str(error)) from error
    return job.id


class _ThreadQueue:
    """A thread pool that counts the jobs waiting for a thread."""

    def __init__(self, threads: int):
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="job")
        self._lock = threading.Lock()
        self.waiting = 0

    def submit(self, app: Flask, func: Callable, args: tuple) -> str:
        job_id = "thread-" + secrets.token_hex(8)
        with self._lock:
            self.waiting += 1
        self._pool.submit(self._run, app, job_id, func, args)
        return job_id

    def _run(self, app: Flask, job_id: str, func: Callable, args: tuple) -> None:
        with self._lock:
            self.waiting -= 1
        run_in_app(app, job_id, func, args)


_THREAD_QUEUES: dict[tuple[int, int], _ThreadQueue] = {}
_THREAD_QUEUES_LOCK = threading.Lock()


def _threads(app: Flask) -> _ThreadQueue:
    """One pool per app in this process, made on first use (so after a gunicorn fork)."""
    key = (id(app), os.getpid())
    with _THREAD_QUEUES_LOCK:
        queue = _THREAD_QUEUES.get(key)
        if queue is None:
            queue = _THREAD_QUEUES[key] = _ThreadQueue(app.config.get("FEATURE_RUN_THREADS", 4))
    return queue


def finish_in_process(app: Flask) -> None:
    """Wait for the jobs this process's thread pool holds for `app` to end, then drop the pool.

    Without Redis, feature runs go to that pool; a job still running when its app is
    discarded (a test's end) would otherwise go on using the app's database afterwards.
    A later job for `app` gets a new pool.
    """
    with _THREAD_QUEUES_LOCK:
        queue = _THREAD_QUEUES.pop((id(app), os.getpid()), None)
    if queue is not None:
        queue._pool.shutdown(wait=True)
