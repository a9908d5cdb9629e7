"""Inputs parsed outside the engine stay cheap and bounded: a huge form field or an odd number is a 4xx, fast."""

import base64
import time

import pytest

from support.web import csrf_token


def test_a_megabyte_email_is_refused_fast_at_sign_up(client):
    started = time.perf_counter()
    response = client.post(
        "/auth/register",
        data={
            "email": "a" * 5_000_000 + "@example.com",
            "password": "correct-horse-battery",
            "csrf_token": csrf_token(client),
        },
    )
    assert time.perf_counter() - started < 1.0
    assert 400 <= response.status_code < 500 and b"254" in response.data


def _cursor(text: str) -> str:
    return "cursor=" + base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "query", ["limit=\u00b2", "limit=" + "9" * 5000, _cursor("t:" + "9" * 40), _cursor("t:\u00b2")]
)
def test_odd_numbers_in_the_transactions_query_are_a_400(api, query):
    response = api.get(f"/api/tokens/transactions?{query}")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_a_saved_resume_id_past_the_column_range_is_a_form_error(app, api):
    from support.features import run_through_gate

    for resume_id in ("9" * 30, "\u00b2", "2147483648"):
        response = run_through_gate(
            api.client,
            "cover_letter",
            {"job_description": "Python developer", "tone": "professional", "resume_id": resume_id},
        )
        assert response.status_code == 400 and b"saved resumes" in response.data
    assert api.balance() == 10
