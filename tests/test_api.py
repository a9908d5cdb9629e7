"""The JSON API of the contract, §5."""

import pytest

from support.web import Api, AuthActions

ANONYMOUS_CALLS = [
    ("get", "/api/tokens/balance"),
    ("get", "/api/tokens/features"),
    ("get", "/api/tokens/packages"),
    ("get", "/api/tokens/transactions"),
    ("post", "/api/tokens/deduct"),
]


@pytest.mark.parametrize(("method", "path"), ANONYMOUS_CALLS)
def test_anonymous_calls_get_401_json(client, method, path):
    response = getattr(client, method)(path, headers={"Accept": "text/html"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthenticated"
    assert "Location" not in response.headers


def test_balance(api):
    # CONTRACT §4: a new account's welcome tokens are a welcome state, not a low balance.
    assert api.get("/api/tokens/balance").get_json() == {
        "balance": 10,
        "is_unlimited": False,
        "low_balance": False,
        "debt": 0,
    }
    api.deduct("networking_message")
    assert api.get("/api/tokens/balance").get_json() == {
        "balance": 7,
        "is_unlimited": False,
        "low_balance": True,
        "debt": 0,
    }


def test_features_lists_the_twenty_with_flagship_costs(api):
    features = api.get("/api/tokens/features").get_json()["features"]
    assert len(features) == 20
    costs = {f["key"]: f["cost"] for f in features}
    assert {
        k: costs[k]
        for k in ("cover_letter", "resume_parsing", "job_match_detailed", "interview_prep", "salary_analysis")
    } == {"cover_letter": 10, "resume_parsing": 8, "job_match_detailed": 5, "interview_prep": 8, "salary_analysis": 6}
    assert all(set(f) == {"key", "name", "description", "cost"} and f["name"] and f["description"] for f in features)


def test_packages(api):
    packages = api.get("/api/tokens/packages").get_json()["packages"]
    assert [(p["key"], p["tokens"], p["price_cents"]) for p in packages] == [
        ("starter", 100, 500),
        ("basic", 250, 1000),
        ("pro", 600, 2000),
        ("power", 1600, 5000),
        ("ultimate", 3500, 10000),
    ]
    assert {p["key"]: p["bonus_tokens"] for p in packages}["ultimate"] == 350
    assert all(p["currency"] == "usd" for p in packages)


def test_deduct_charges_the_feature_cost(api, audit):
    response = api.deduct("job_match_detailed")
    assert response.status_code == 201
    body = response.get_json()
    assert body["charge_id"].startswith("chg_")
    assert (body["feature_key"], body["cost"], body["balance"]) == ("job_match_detailed", 5, 5)
    assert api.balance() == 5
    audit()


def test_insufficient_tokens_is_402_and_charges_nothing(api, audit):
    assert api.deduct("resume_parsing").status_code == 201
    response = api.deduct("resume_parsing")
    assert response.status_code == 402
    assert response.get_json() == {
        "error": "insufficient_tokens",
        "message": "This needs 8 tokens and you have 2.",
        "balance": 2,
        "cost": 8,
    }
    assert api.balance() == 2
    audit()


BAD_BODIES = [
    ({}, "invalid_request"),
    ({"feature_key": None}, "invalid_request"),
    ({"feature_key": 5}, "invalid_request"),
    ({"feature_key": ["cover_letter"]}, "invalid_request"),
    ({"feature_key": ""}, "invalid_request"),
    ({"feature_key": "no_such_feature"}, "unknown_feature"),
    ({"feature_key": "cover_letter' OR '1'='1"}, "unknown_feature"),
    ({"feature_key": "cover_letter", "idempotency_key": 12}, "invalid_request"),
    ({"feature_key": "cover_letter", "idempotency_key": ""}, "invalid_request"),
    ({"feature_key": "cover_letter", "idempotency_key": "x" * 256}, "invalid_request"),
    ({"feature_key": "cover_letter", "idempotency_key": "tab\there"}, "invalid_request"),
]


@pytest.mark.parametrize(("body", "code"), BAD_BODIES)
def test_bad_deduct_bodies_are_400_and_change_nothing(api, audit, body, code):
    response = api.post("/api/tokens/deduct", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"] == code
    assert api.balance() == 10
    assert len(api.get("/api/tokens/transactions").get_json()["transactions"]) == 1
    audit()


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"cover_letter"', b"null", b"{"])
def test_malformed_json_is_400(api, raw):
    response = api.post("/api/tokens/deduct", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert api.balance() == 10


def test_deduct_without_csrf_header_is_refused(client, user):
    response = client.post("/api/tokens/deduct", json={"feature_key": "cover_letter"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "csrf_failed"
    assert Api(client).balance() == 10


def test_a_remembered_csrf_token_still_only_works_for_its_own_session(app, api):
    """The token's signature is checked once per process; whose session it belongs to, on every request."""
    assert api.deduct("networking_message").status_code == 201
    assert api.deduct("networking_message").status_code == 201  # the token's second use: the remembered path
    stranger = app.test_client()
    AuthActions(stranger).register(email="eve@example.com")
    assert Api(stranger).token != api.token  # the stranger's session now holds a token of its own
    replayed = stranger.post(
        "/api/tokens/deduct", json={"feature_key": "networking_message"}, headers={"X-CSRFToken": api.token}
    )
    assert replayed.status_code == 400
    assert replayed.get_json()["error"] == "csrf_failed"
    tampered = api.post(
        "/api/tokens/deduct", json={"feature_key": "networking_message"}, headers={"X-CSRFToken": api.token + "x"}
    )
    assert tampered.status_code == 400
    assert tampered.get_json()["error"] == "csrf_failed"
    assert Api(stranger).balance() == 10
    assert api.balance() == 4


def test_a_remembered_csrf_token_is_checked_again_under_a_new_secret_key(app, api):
    """After a key rotation the session cookie still opens (the old key is a fallback), but a CSRF token
    signed with the old key is refused, remembered or not, as Flask-WTF refuses it."""
    assert api.deduct("networking_message").status_code == 201
    app.config["SECRET_KEY_FALLBACKS"] = [app.secret_key]
    app.secret_key = app.config["SECRET_KEY"] = "rotated-" + "k" * 40
    refused = api.post("/api/tokens/deduct", json={"feature_key": "networking_message"})
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "csrf_failed"
    assert api.balance() == 7


def test_same_idempotency_key_charges_once(api, audit):
    first = api.deduct("job_match_detailed", idempotency_key="press-1")
    again = api.deduct("job_match_detailed", idempotency_key="press-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api.balance() == 5
    audit()


def test_idempotency_key_in_header(api):
    first = api.post(
        "/api/tokens/deduct", json={"feature_key": "job_match_detailed"}, headers={"Idempotency-Key": "h-1"}
    )
    again = api.deduct("job_match_detailed", idempotency_key="h-1")
    assert first.get_json()["charge_id"] == again.get_json()["charge_id"]
    assert api.balance() == 5


def test_header_and_body_keys_must_agree(api):
    response = api.post(
        "/api/tokens/deduct",
        json={"feature_key": "cover_letter", "idempotency_key": "a"},
        headers={"Idempotency-Key": "b"},
    )
    assert response.status_code == 400
    assert api.balance() == 10


def test_same_key_for_another_feature_is_a_conflict(api, audit):
    assert api.deduct("job_match_detailed", idempotency_key="k").status_code == 201
    response = api.deduct("salary_analysis", idempotency_key="k")
    assert response.status_code == 409
    assert response.get_json()["error"] == "idempotency_conflict"
    assert api.balance() == 5
    audit()


def test_idempotency_keys_are_per_user(app, client, api):
    assert api.deduct("job_match_detailed", idempotency_key="shared").status_code == 201
    other_client = app.test_client()
    AuthActions(other_client).register("bob@example.com")
    other = Api(other_client)
    response = other.deduct("job_match_detailed", idempotency_key="shared")
    assert response.status_code == 201
    assert (
        response.get_json()["charge_id"]
        != api.deduct("job_match_detailed", idempotency_key="shared").get_json()["charge_id"]
    )
    assert other.balance() == 5


def test_transactions_newest_first_with_cursor_pages(api):
    api.deduct("networking_message")
    api.deduct("follow_up_email")
    first = api.get("/api/tokens/transactions?limit=2").get_json()
    assert [(t["type"], t["amount"], t["balance_after"], t["feature_key"]) for t in first["transactions"]] == [
        ("spend", -3, 4, "follow_up_email"),
        ("spend", -3, 7, "networking_message"),
    ]
    assert first["next_cursor"]
    second = api.get(f"/api/tokens/transactions?limit=2&cursor={first['next_cursor']}").get_json()
    assert [(t["type"], t["amount"], t["balance_after"]) for t in second["transactions"]] == [("bonus", 10, 10)]
    assert second["next_cursor"] is None
    assert all(t["created_at"].endswith("+00:00") for t in first["transactions"])


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "limit=-1", "limit=abc", "limit=1.5", "cursor=garbage!", "cursor=dDotMQ", "cursor=eDox"],
)
def test_transactions_bad_paging_is_400(api, query):
    response = api.get(f"/api/tokens/transactions?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_transactions_show_only_the_callers_own(app, api):
    api.deduct("cover_letter")
    other_client = app.test_client()
    AuthActions(other_client).register("eve@example.com")
    rows = Api(other_client).get("/api/tokens/transactions?limit=100").get_json()["transactions"]
    assert [(t["type"], t["amount"]) for t in rows] == [("bonus", 10)]


def test_unknown_api_path_is_json_404(api):
    response = api.get("/api/nope")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_get_never_changes_state(api):
    assert api.get("/api/tokens/deduct").status_code == 405
    assert api.balance() == 10
