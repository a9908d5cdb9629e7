"""Security headers, and a database outage answered without a trace."""

from support.apps import make_app


def test_pages_and_api_carry_a_content_security_policy(client):
    for path in ("/", "/api/tokens/balance"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_no_inline_script_on_pages(client):
    html = client.get("/").get_data(as_text=True)
    assert "<script>" not in html and "onclick=" not in html


def test_database_down_is_a_clear_503(tmp_path):
    down = make_app(
        "postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
    )
    client = down.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1"
    response = client.get("/api/tokens/balance")
    assert response.status_code == 503
    assert response.get_json()["error"] == "service_unavailable"
    assert "Traceback" not in response.get_data(as_text=True)
    page = client.get("/")
    assert page.status_code == 503
    assert b"Nothing was charged" in page.data


def test_unexpected_errors_show_no_trace(database_urls, backend):
    app = make_app(database_urls[backend])

    def boom():
        raise RuntimeError("secret internals sk_test_123")

    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule("/api/stripe/boom", "api_boom", boom)
    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500
    assert b"secret internals" not in page.data and b"Traceback" not in page.data
    api = client.get("/api/stripe/boom")
    assert api.status_code == 500
    assert api.get_json() == {
        "error": "internal_error",
        "message": "Something went wrong on our side. Nothing was charged.",
    }
    with app.app_context():
        from tokenapp.extensions import db

        db.engine.dispose()


def test_webhook_with_the_database_down_answers_5xx_so_stripe_retries():
    import json
    import time

    from stripe_standin.webhooks import signature_header

    down = make_app(
        "postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
    )
    body = json.dumps(
        {
            "id": "evt_db_down",
            "object": "event",
            "type": "checkout.session.completed",
            "data": {"object": {"id": "cs_test_1", "object": "checkout.session", "mode": "payment"}},
        }
    ).encode()
    header = signature_header(body, down.config["STRIPE_WEBHOOK_SECRET"], int(time.time()))
    response = down.test_client().post(
        "/api/stripe/webhooks", data=body, headers={"Stripe-Signature": header, "Content-Type": "application/json"}
    )
    assert response.status_code >= 500
    assert response.get_json()["error"] in ("service_unavailable", "webhook_failed")


def test_pages_and_static_files_are_compressed(client):
    for path in ("/", "/static/htmx.min.js", "/static/app.css"):
        with client.get(path, headers={"Accept-Encoding": "gzip, deflate, br, zstd"}) as response:
            assert response.status_code == 200
            assert response.headers["Content-Encoding"] in ("zstd", "br", "gzip"), path


def test_healthz_needs_no_database():
    down = make_app("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    assert down.test_client().get("/healthz").get_json() == {"ok": True}
