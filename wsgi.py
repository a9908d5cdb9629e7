"""The WSGI entry point: `gunicorn wsgi:app`."""

from tokenapp import create_app

app = create_app()
