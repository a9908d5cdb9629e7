"""/api/openapi.json: valid OpenAPI 3.1, public, naming every /api route, and kept by the API under fuzzing.

schemathesis generates requests from the document (schema-valid and schema-invalid
ones, a bounded number per operation, derandomized) and sends them in-process to
the app as a logged-in user with the CSRF header. Every answer must be no 5xx,
a status and content type the document declares, and a body matching its schema;
a refused write changes nothing.
"""

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from support.web import Api, csrf_token, user_id
from tokenapp.services import ledger

EXAMPLES_PER_MODE = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _spec(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule)


def test_document_is_public_valid_openapi_31(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "Set-Cookie" not in response.headers
    spec = response.get_json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_api_route_is_described(app, client):
    spec = _spec(client)
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = _openapi_path(rule.rule)
        assert path in spec["paths"], f"{rule.rule} is missing from /api/openapi.json"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"][path], f"{method} {rule.rule} is missing"


def test_errors_and_auth_are_described(client):
    spec = _spec(client)
    assert set(spec["components"]["schemas"]["Error"]["required"]) == {"error", "message"}
    schemes = spec["components"]["securitySchemes"]
    assert schemes["sessionCookie"]["in"] == "cookie" and schemes["csrfHeader"]["name"] == "X-CSRFToken"
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            public = path in ("/api/openapi.json", "/api/stripe/webhooks")
            assert "429" in operation["responses"], f"{method} {path}"
            assert public or "401" in operation["responses"], f"{method} {path}"
            assert public or operation["security"][0].keys() >= (
                {"sessionCookie", "csrfHeader"} if method == "post" else {"sessionCookie"}
            )


def _strategy(operation, mode: GenerationMode, credentials: dict):
    """Cases for one operation; the session cookie and CSRF header are fixed, never mutated.

    Responses are asked for uncompressed: the in-process transport does not inflate them.
    """
    generated = operation.as_strategy(generation_mode=mode, **credentials)
    if mode is GenerationMode.POSITIVE:
        examples = operation.schema.get_strategies_from_examples(operation, **credentials)
        return st.one_of(generated, *examples)
    return generated


def _has_input(operation) -> bool:
    """Whether the operation takes anything to mutate besides the fixed credentials."""
    return bool(operation.body) or any(
        parameter.name not in ("session", "X-CSRFToken") for parameter in operation.iter_parameters()
    )


@pytest.mark.usefixtures("stripe_standin")
def test_api_keeps_to_its_document_under_fuzzing(app, client, auth):
    assert auth.register().status_code == 302
    uid = user_id(app, "ada@example.com")
    token = csrf_token(client)
    credentials = {
        "cookies": {"session": client.get_cookie("session").value},
        "headers": {"X-CSRFToken": token, "Accept-Encoding": "identity"},
    }
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    seen: dict[str, set[int]] = {}

    def balance() -> int:
        with app.app_context():
            return ledger.balance_of(uid).balance

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if mode is GenerationMode.NEGATIVE and not _has_input(operation):
                continue

            @settings(
                max_examples=EXAMPLES_PER_MODE,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=_strategy(operation, mode, credentials))
            def exchange(case):
                before = balance()
                response = case.call()
                seen.setdefault(operation.label, set()).add(response.status_code)  # noqa: B023 - run within this iteration
                checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])  # noqa: B023 - run within this iteration
                case.validate_response(response, checks=checks)
                if response.status_code >= 400:
                    assert balance() == before, f"a refused {case.method} {case.path} changed the balance"

            exchange()
    # The fuzzer got past the login and the CSRF check: each /api/tokens operation succeeded at least once
    # (a run needs a held charge and the webhook a signature, which generated data never has).
    assert len(seen) == len(schema.raw_schema["paths"]) - 1, seen  # all but the document itself
    assert all(statuses & {200, 201} for label, statuses in seen.items() if "/api/tokens/" in label), seen
    assert Api(client).get("/api/tokens/balance").status_code == 200
