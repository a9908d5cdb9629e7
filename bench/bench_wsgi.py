"""What the HTTP benches serve: wsgi.py's app, with the per-user rate limits raised.

The bench's 32 users each send far more than a person does (about 15
deductions a second), so with the deployed numbers most answers would be
429s. The limits stay on and are checked on every request, in Redis when
REDIS_URL is set; only their numbers change, and the cost of checking a limit
does not depend on its number. BENCH_RATE_LIMITS=off builds the app with no
limits at all, to measure what checking them costs (production refuses
RATE_LIMITS=off from the environment; this is the bench's own entry point).
"""

import os

from tokenapp import create_app

RAISED = {
    name: "1000000 per minute" for name in ("deductions_per_user", "checkouts_per_user", "purchase_checks_per_user")
}

app = create_app({"RATE_LIMIT_RULES": RAISED, "RATELIMIT_ENABLED": os.environ.get("BENCH_RATE_LIMITS", "on") == "on"})
