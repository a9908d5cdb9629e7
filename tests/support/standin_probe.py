"""Test-only entry points that report which stand-in modules a product process has loaded.

gunicorn serves `support.standin_probe:probed_app()`: the product's `wsgi:app` with one
extra path, PROBE_PATH, answered before the app sees it. An RQ worker runs
`support.standin_probe.standin_modules_after_jobs` as a job. Nothing in the product
knows of either; tests/test_product_imports.py puts tests/ on PYTHONPATH.
"""

import json
import os
import sys

PROBE_PATH = "/_test_probe/standin-modules"


def standin_modules() -> list[str]:
    """The names in this process's sys.modules that belong to the Stripe stand-in."""
    return sorted(name for name in sys.modules if "stripe_standin" in name)


def _report() -> bytes:
    return json.dumps({"pid": os.getpid(), "modules": standin_modules()}).encode()


def probed_app():
    """The product's WSGI app, answering PROBE_PATH itself with this process's stand-in modules."""
    from wsgi import app

    product = app.wsgi_app

    def wsgi_app(environ, start_response):
        if environ.get("PATH_INFO") != PROBE_PATH:
            return product(environ, start_response)
        body = _report()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    app.wsgi_app = wsgi_app
    return app


def standin_modules_after_jobs() -> dict:
    """Run in a work horse: do the periodic jobs' work, then report the stand-in modules loaded."""
    from tokenapp.jobs import tasks

    tasks.sweep_stale_charges()
    tasks.recover_runs()
    return json.loads(_report())
