"""Operations: cookie-free anonymous pages, private caching, HSTS, request ids in logs."""

import io
import json
import logging
import re

from support.apps import make_app
from support.web import CSRF_META, PASSWORD
from tokenapp import logs
from tokenapp.extensions import db
from tokenapp.models import User

ANONYMOUS_PAGES = ("/", "/pricing", "/auth/login", "/auth/register", "/healthz")


def _dispose(*apps) -> None:
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def _count_users(app) -> int:
    with app.app_context():
        count = db.session.query(User).count()
        db.session.remove()
    return count


def test_anonymous_pages_set_no_cookie(client):
    for path in ANONYMOUS_PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers, path
        assert client.get_cookie("session") is None, path


def test_anonymous_page_still_carries_a_token_that_signs_up(client, app):
    token = CSRF_META.search(client.get("/").get_data(as_text=True)).group(1)
    response = client.post(
        "/auth/register", data={"email": "new@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert client.get_cookie("session") is not None
    assert _count_users(app) == 1


def test_unbound_token_from_another_site_is_refused(client, app):
    token = CSRF_META.search(client.get("/").get_data(as_text=True)).group(1)
    for header in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"}, {"Origin": "null"}):
        response = client.post(
            "/auth/register",
            headers=header,
            data={"email": "victim@example.com", "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 400, header
    assert _count_users(app) == 0


def test_same_site_origin_is_accepted(client, app):
    token = CSRF_META.search(client.get("/").get_data(as_text=True)).group(1)
    response = client.post(
        "/auth/register",
        headers={"Origin": "http://localhost"},
        data={"email": "new@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert _count_users(app) == 1


def test_forged_or_missing_token_is_refused(client, app):
    for token in ("", "forged", "ImFiYyI.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb"):
        response = client.post(
            "/auth/register", data={"email": "x@example.com", "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 400
    assert _count_users(app) == 0


def test_token_signed_with_another_key_is_refused(client, app, database_urls, backend):
    other = make_app(database_urls[backend], SECRET_KEY="another-key")
    foreign = CSRF_META.search(other.test_client().get("/").get_data(as_text=True)).group(1)
    _dispose(other)
    response = client.post(
        "/auth/register", data={"email": "x@example.com", "password": PASSWORD, "csrf_token": foreign}
    )
    assert response.status_code == 400
    assert _count_users(app) == 0


def test_private_answers_are_not_stored(client, user):
    for path in ("/", "/dashboard/tokens", "/api/tokens/balance"):
        assert client.get(path).headers.get("Cache-Control") == "no-store", path
    static = client.get("/static/app.css")
    static.close()
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_anonymous_json_is_not_stored_but_pages_may_be(client):
    assert client.get("/api/tokens/balance").headers["Cache-Control"] == "no-store"
    assert "Cache-Control" not in client.get("/").headers


def test_hsts_only_in_production(database_urls, backend):
    development_app = make_app(database_urls[backend])
    production_app = make_app(database_urls[backend], TOKENAPP_ENV="production")
    development = development_app.test_client().get("/healthz")
    production = production_app.test_client().get("/healthz")
    _dispose(development_app, production_app)
    assert "Strict-Transport-Security" not in development.headers
    assert production.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id\x7f" + "x" * 100}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", made)
    assert client.get("/healthz").headers["X-Request-ID"] != client.get("/healthz").headers["X-Request-ID"]


def _capture(formatter: logging.Formatter) -> tuple[io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(formatter)
    logging.getLogger().addHandler(handler)
    return stream, handler


def test_every_log_line_of_a_request_carries_its_id(app):
    def noisy():
        app.logger.warning("first")
        logging.getLogger("tokenapp.somewhere").warning("second")
        return "ok"

    app.add_url_rule("/noisy", "noisy", noisy)
    stream, handler = _capture(logs.JsonFormatter())
    try:
        app.test_client().get("/noisy", headers={"X-Request-ID": "req-42"})
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["first", "second"]
    assert all(line["request_id"] == "req-42" for line in lines)


def test_job_ids_bind_outside_requests_and_unbind_after():
    stream, handler = _capture(logs.TextFormatter(logs.TEXT_FORMAT))
    log = logging.getLogger("tokenapp.jobs.test")
    try:
        with logs.bound(job_id="job-7", run_id="run_x"):
            log.warning("inside")
        log.warning("outside")
    finally:
        logging.getLogger().removeHandler(handler)
    inside, outside = stream.getvalue().splitlines()
    assert "[job job-7 run run_x]" in inside and "inside" in inside
    assert "job-7" not in outside and "[-]" in outside


def test_json_lines_carry_exceptions():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("run_1",), None)
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    logs.ContextFilter().filter(record)
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["message"] == "failed run_1" and "ValueError: boom" in line["exception"]
    assert "request_id" not in line
