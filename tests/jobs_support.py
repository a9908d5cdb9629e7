"""Redis for the job tests: its own database number, flushed before and after each test.

TEST_REDIS_URL names it (default redis://127.0.0.1:6379/11). Only that
database is ever flushed. Under CI=true a missing Redis fails the test.
"""

import os

import pytest
from redis import Redis
from redis.exceptions import RedisError

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def redis_url():
    """The test Redis database's URL, emptied; fails under CI when Redis is missing, else skips."""
    connection = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except RedisError as error:
        if IN_CI:
            pytest.fail(f"CI=true needs Redis at {REDIS_URL}: {error}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    connection.flushdb()
    yield REDIS_URL
    connection.flushdb()
    connection.close()
