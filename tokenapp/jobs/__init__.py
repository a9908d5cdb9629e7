"""Background jobs: feature runs and periodic work, on RQ when REDIS_URL is set.

The database row is the truth; a job carries only ids, and running a job twice
changes nothing the first run did not. One module per purpose:

- `queue`: put a job on the queue (RQ on Redis, else a thread pool in this
  process), and report the queue's health and depth.
- `context`: run a job inside the app's context, with its job id for the logs.
- `tasks`: the periodic job functions.
- `schedule`: the list of periodic jobs and the scheduler that claims each
  period once across all machines before queueing its job.
- `worker`: `flask worker`, one RQ worker (plus a scheduler in a child process).
"""

from .queue import QueueUnavailable, enqueue

__all__ = ["QueueUnavailable", "enqueue"]
