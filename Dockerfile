# One image for the app server and the job worker; the command picks the role.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 FLASK_APP=tokenapp
WORKDIR /app

# The pinned, hashed versions from the lock; then the app itself, without resolving anything again.
COPY requirements.lock pyproject.toml ./
RUN pip install -r requirements.lock
COPY tokenapp ./tokenapp
COPY wsgi.py gunicorn.conf.py ./
RUN pip install --no-deps . && useradd --create-home tokenapp && mkdir -p instance && chown tokenapp instance
USER tokenapp

EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
