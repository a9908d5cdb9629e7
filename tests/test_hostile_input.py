"""RELIABILITY 28: every class of hostile input is a clear 4xx that changes nothing, on each backend.

One test per class: NUL bytes, lone surrogates, control characters, integers past
a column's range, Unicode digits, deeply nested or huge JSON, wrong types and
encodings. Each request is checked for its status and, under /api, its error
code; then every table's row count and the user's balance must be as before.
"""

import base64
import io
import json

import pytest

from support.database import database_state
from support.web import csrf_token
from tokenapp.digits import INT32_MAX, INT64_MAX, whole_number
from tokenapp.input_guard import MAX_JSON_BYTES, MAX_JSON_DEPTH

HUGE = "9" * 30


@pytest.fixture
def snapshot(app):
    """A function returning the database state now."""
    return lambda: database_state(app)


@pytest.fixture
def unchanged(snapshot):
    """Assert, after the test's requests, that nothing in the database changed."""
    before = snapshot()
    yield
    assert snapshot() == before, "a refused request changed the database"


def _refused(response, status=400, code="invalid_request"):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    if response.mimetype == "application/json":
        assert response.get_json()["error"] == code
        assert response.get_json()["message"]
    else:
        assert "Traceback" not in response.get_data(as_text=True)


def _post_json(api, path, raw: str | bytes, **headers):
    return api.client.post(
        path, data=raw, content_type="application/json", headers={"X-CSRFToken": api.token, **headers}
    )


def _post_form(api, path, fields: dict):
    return api.client.post(path, data={"csrf_token": api.token, **fields})


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def test_nul_bytes_anywhere_are_refused(api, unchanged):
    for path in (
        "/api/features/runs/run%00",
        "/features/runs/run%00",
        "/tokens/gate/cover%00letter",
        "/features/cover_letter%00",
        "/tokens/success?session_id=cs_%00",
        "/auth/register?ref=%00",
        "/api/tokens/transactions?cursor=%00",
        "/dashboard/tokens?x=%00",
    ):
        _refused(api.get(path))
    for path, raw in (
        ("/api/tokens/deduct", r'{"feature_key": "cover_letter\u0000"}'),
        ("/api/tokens/deduct", r'{"feature_key": "cover_letter", "idempotency_key": "k\u0000"}'),
        ("/api/tokens/checkout", r'{"package_key": "\u0000starter"}'),
        ("/api/features/cover_letter/runs", r'{"charge_id": "ch\u0000", "inputs": {}}'),
        ("/api/features/cover_letter/runs", r'{"charge_id": "ch", "inputs": {"job_description": "a\u0000b"}}'),
        ("/api/features/cover_letter/runs", r'{"charge_id": "ch", "inputs": {"a\u0000": "b"}}'),
    ):
        _refused(_post_json(api, path, raw))
    _refused(_post_json(api, "/api/tokens/deduct", '{"feature_key": "cover_letter"}', **{"Idempotency-Key": "k\x00"}))
    for path, fields in (
        ("/tokens/checkout", {"package_key": "starter\x00"}),
        (
            "/features/cover_letter/run",
            {"idempotency_key": "press-1", "job_description": "Job\x00", "tone": "concise", "resume_text": "Resume"},
        ),
        ("/tokens/gate/cover_letter/confirm", {"idempotency_key": "press-2", "note\x00": "x"}),
        ("/welcome/dismiss", {"extra": "\x00"}),
    ):
        _refused(_post_form(api, path, fields))
    upload = {
        "csrf_token": api.token,
        "idempotency_key": "press-3",
        "resume_file": (io.BytesIO(b"Ada Lovelace\nPython"), "cv\x00.txt"),
    }
    _refused(api.client.post("/features/resume_parsing/run", data=upload, content_type="multipart/form-data"))


def test_nul_bytes_in_sign_up_and_login_are_refused(app, unchanged):
    client = app.test_client()
    token = csrf_token(client)
    for path, fields in (
        ("/auth/register", {"email": "eve@example.com", "password": "pass\x00word-long", "referral_code": ""}),
        ("/auth/register", {"email": "eve@example.com", "password": "password-long", "referral_code": "\x00"}),
        ("/auth/login", {"email": "eve\x00@example.com", "password": "password-long"}),
    ):
        _refused(client.post(path, data={"csrf_token": token, **fields}))


def test_lone_surrogates_are_refused(api, unchanged):
    for raw in (
        r'{"feature_key": "\ud800"}',
        r'{"feature_key": "cover_letter", "idempotency_key": "\udfff"}',
        r'{"feature_key": "cover_letter", "\udc00": 1}',
        r'[{"nested": ["\ud83d"]}]',
    ):
        _refused(_post_json(api, "/api/tokens/deduct", raw))
    _refused(_post_json(api, "/api/tokens/checkout", r'{"package_key": "\udfff"}'))
    _refused(
        _post_json(
            api,
            "/api/features/cover_letter/runs",
            r'{"charge_id": "ch", "inputs": {"job_description": "x\ud800y", "tone": "concise"}}',
        )
    )
    # A surrogate pair is a real character and passes the guard (then fails as an unknown feature).
    _refused(_post_json(api, "/api/tokens/deduct", r'{"feature_key": "\ud83d\ude00"}'), code="unknown_feature")
    # On the wire a form or query cannot carry one: its UTF-8-like bytes arrive as harmless literal text.
    body = f"csrf_token={api.token}&package_key=%ED%A0%80"
    response = api.client.post("/tokens/checkout", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    assert api.get("/tokens/success?session_id=%ED%A0%80").status_code == 404


def test_control_characters_in_addresses_query_and_headers_are_refused(api, unchanged):
    _refused(api.get("/auth/login?next=/%0d%0aSet-Cookie:%20x=1"))
    _refused(api.get("/features/cover%0aletter"))
    _refused(api.get("/api/tokens/balance", headers={"Referer": "https://example.com/\x01"}))
    _refused(_post_json(api, "/api/tokens/deduct", '{"feature_key": "cover_letter"}', **{"Idempotency-Key": "a\tb"}))
    # A query string of raw bytes that are not UTF-8 (a server passes them on as Latin-1).
    _refused(api.client.get("/dashboard/tokens", environ_overrides={"QUERY_STRING": "x=\xed\xa0\x80"}))
    # A key's pattern is anchored at the very end: "$" alone would let a trailing newline through.
    _refused(_post_json(api, "/api/tokens/deduct", '{"feature_key": "cover_letter", "idempotency_key": "key\\n"}'))
    _refused(_post_form(api, "/tokens/gate/cover_letter/confirm", {"idempotency_key": "press-key\n"}))
    # A form or JSON text may hold newlines and tabs: pasted text does.
    response = _post_json(api, "/api/tokens/deduct", '{"feature_key": "no\\nsuch\\tfeature"}')
    _refused(response, code="unknown_feature")


def test_integers_past_a_columns_range_are_refused(api, unchanged):
    for purchase in (INT32_MAX + 1, INT64_MAX, INT64_MAX + 1, HUGE, "0" * 25 + "1"):
        _refused(api.get(f"/tokens/purchases/{purchase}/status"), status=404, code="not_found")
    assert api.get(f"/tokens/purchases/{INT32_MAX}/status").status_code == 404
    for limit in (str(INT64_MAX + 1), HUGE, "101", "0", "-1"):
        _refused(api.get(f"/api/tokens/transactions?limit={limit}"))
    for cursor in (f"t:{INT64_MAX + 1}", f"t:{HUGE}", "t:0", "t:-1"):
        _refused(api.get(f"/api/tokens/transactions?cursor={_cursor(cursor)}"))
    assert api.get(f"/api/tokens/transactions?cursor={_cursor(f't:{INT64_MAX}')}").status_code == 200
    for raw in (
        f'{{"feature_key": "cover_letter", "idempotency_key": {HUGE}}}',
        f'{{"feature_key": "cover_letter", "n": -{HUGE}}}',
        '{"feature_key": "cover_letter", "n": 1e999}',
    ):
        _refused(_post_json(api, "/api/tokens/deduct", raw))
    for resume_id in (HUGE, str(INT32_MAX + 1), INT32_MAX + 1):
        body = {"charge_id": "ch", "inputs": {"job_description": "Job", "tone": "concise", "resume_id": resume_id}}
        _refused(_post_json(api, "/api/features/cover_letter/runs", json.dumps(body)), code="invalid_input")
        fields = {
            "idempotency_key": f"press-{resume_id}",
            "job_description": "Job",
            "tone": "concise",
            "resume_id": str(resume_id),
        }
        _refused(_post_form(api, "/features/cover_letter/run", fields))
    for purchase in (HUGE, str(INT32_MAX + 1)):
        _refused(api.get(f"/tokens/cancel?purchase={purchase}"), status=404, code="not_found")


def test_whole_number_takes_ascii_digits_within_range_only():
    assert whole_number("42") == 42 and whole_number(42) == 42 and whole_number("0") == 0
    assert whole_number(str(INT64_MAX)) == INT64_MAX
    for raw in ("²", "١٢", "１２", "", " 1", "+1", "-1", "1_0", "1.0", str(INT64_MAX + 1), HUGE, True, None, 1.0, [1]):
        assert whole_number(raw) is None, raw
    assert whole_number("7", low=1, high=5) is None


def test_unicode_digits_are_not_numbers(app, api, unchanged):
    from tokenapp.auth.session import _load_user

    for digits in ("²", "١٢", "１２", "1²", "¹"):
        _refused(api.get(f"/api/tokens/transactions?limit={digits}"))
        _refused(api.get(f"/api/tokens/transactions?cursor={_cursor('t:' + digits)}"))
        _refused(api.get(f"/tokens/purchases/{digits}/status"), status=404, code="not_found")
        body = {"charge_id": "ch", "inputs": {"job_description": "Job", "tone": "concise", "resume_id": digits}}
        _refused(_post_json(api, "/api/features/cover_letter/runs", json.dumps(body)), code="invalid_input")
        _refused(api.get(f"/tokens/cancel?purchase={digits}"), status=404, code="not_found")
        with app.test_request_context():
            assert _load_user(digits) is None
    for spelled in ("+5", " 5", "5_0", "0x5"):
        _refused(api.get(f"/api/tokens/transactions?limit={spelled}"))


def test_unicode_digits_in_a_status_poll_read_as_a_first_attempt(api, stripe_standin):
    purchase_id = api.post("/api/tokens/checkout", json={"package_key": "starter"}).get_json()["purchase_id"]
    for attempt in ("²", "١٢", HUGE, "-1"):
        response = api.get(f"/tokens/purchases/{purchase_id}/status?attempt={attempt}")
        assert response.status_code == 200
        assert "attempt=1" in response.get_data(as_text=True)


def test_deeply_nested_or_huge_json_is_refused(api, unchanged):
    for depth in (100_000, 5_000, MAX_JSON_DEPTH + 1):
        _refused(_post_json(api, "/api/tokens/deduct", "[" * depth + "]" * depth))
        _refused(_post_json(api, "/api/tokens/deduct", '{"a":' * depth + "1" + "}" * depth))
    nested = {"feature_key": "cover_letter"}
    for _ in range(MAX_JSON_DEPTH):
        nested = {"inner": nested}
    _refused(_post_json(api, "/api/tokens/deduct", json.dumps(nested)))
    padding = "x" * (MAX_JSON_BYTES + 1)
    _refused(
        _post_json(api, "/api/tokens/deduct", json.dumps({"feature_key": "cover_letter", "pad": padding})),
        status=413,
        code="too_large",
    )
    _refused(_post_json(api, "/api/tokens/deduct", b" " * (7 * 1024 * 1024)), status=413, code="too_large")
    _refused(_post_json(api, "/api/tokens/deduct", "9" * 5000))
    # Within the limits the guard is invisible.
    shallow = {"feature_key": "no_such_feature", "extra": [[[["deep enough"]]]]}
    _refused(_post_json(api, "/api/tokens/deduct", json.dumps(shallow)), code="unknown_feature")


WRONG_TYPES = ([], {}, True, 1.5, None, 7, ["cover_letter"], {"key": "cover_letter"}, "")


def test_wrong_types_empty_bodies_and_content_types_are_refused(api, unchanged):
    for value in WRONG_TYPES:
        _refused(_post_json(api, "/api/tokens/deduct", json.dumps({"feature_key": value})))
        _refused(_post_json(api, "/api/tokens/checkout", json.dumps({"package_key": value})), code="invalid_request")
        _refused(_post_json(api, "/api/features/cover_letter/runs", json.dumps({"charge_id": value})))
        if value is not None and value != "":
            body = {"feature_key": "cover_letter", "idempotency_key": value}
            _refused(_post_json(api, "/api/tokens/deduct", json.dumps(body)))
    for inputs in ([], "text", 3, True):
        _refused(_post_json(api, "/api/features/cover_letter/runs", json.dumps({"charge_id": "c", "inputs": inputs})))
    for value in ([], {}, True, 1.5, ["a"]):
        body = {"charge_id": "c", "inputs": {"job_description": value, "tone": "concise"}}
        _refused(_post_json(api, "/api/features/cover_letter/runs", json.dumps(body)), code="invalid_input")
    for raw in (
        "",
        "null",
        "[]",
        '"cover_letter"',
        "1",
        "{",
        "{'feature_key': 'cover_letter'}",
        "NaN",
        b"\xff\xfe\x00",
        '{"feature_key": "cover_letter", "feature_key": ["x"]}',
    ):
        _refused(_post_json(api, "/api/tokens/deduct", raw))
    headers = {"X-CSRFToken": api.token}
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json; charset=latin-1",
    ):
        data = '{"feature_key": "cover_letter"}' if "json" not in content_type else b'{"feature_key": "caf\xe9"}'
        response = api.client.post("/api/tokens/deduct", data=data, content_type=content_type, headers=headers)
        _refused(response)


def test_bad_form_encodings_and_over_long_fields_are_refused(app, api, unchanged):
    broken = (
        b"csrf_token=" + api.token.encode() + b"&package_key=\xff\xfe",
        b'--x\r\nContent-Disposition: form-data; name="package_key"\r\n\r\nstarter',  # no closing boundary
        b"%%%=%%%&&&",
    )
    for body in broken:
        for content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "multipart/form-data",
        ):
            response = api.client.post("/tokens/checkout", data=body, content_type=content_type)
            assert response.status_code in (302, 400), response.status_code
    long_fields = {
        "idempotency_key": "press-long",
        "job_description": "j" * 20_001,
        "tone": "concise",
        "resume_text": "r",
    }
    _refused(_post_form(api, "/features/cover_letter/run", long_fields))
    _refused(_post_form(api, "/features/cover_letter/run", {**long_fields, "job_description": "x" * 600_000}))
    _refused(_post_form(api, "/tokens/gate/cover_letter/confirm", {"idempotency_key": "k" * 256}))
    anonymous = app.test_client()
    token = csrf_token(anonymous)
    for fields in (
        {"email": "e" * 250 + "@example.com", "password": "password-long"},
        {"email": "eve@example.com", "password": "p" * 129},
        {"email": "eve@example.com", "password": "password-long", "referral_code": "R" * 17},
    ):
        response = anonymous.post("/auth/register", data={"csrf_token": token, **fields})
        assert response.status_code == 422
