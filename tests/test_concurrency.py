"""Real races: many requests on their own connections at the same moment.

On PostgreSQL every request succeeds or is refused for want of tokens. On
SQLite, which has one writer at a time, a request may also be told to retry
(503 JSON); in every case nothing is corrupted and the ledger adds up.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from support.web import Api, clone_client, user_id
from tokenapp.extensions import db
from tokenapp.models.ledger import TransactionType
from tokenapp.services import charges, ledger

WORKERS = 32


def run_together(count: int, job) -> list:
    """Run `job(i)` for i in range(count) on WORKERS threads released at once."""
    gate = threading.Event()

    def gated(i):
        gate.wait()
        return job(i)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(gated, i) for i in range(count)]
        gate.set()
        return [future.result(timeout=120) for future in futures]


def top_up(app, email: str, target: int) -> int:
    uid = user_id(app, email)
    with app.app_context():
        ledger.adjust(uid, target - ledger.balance_of(uid).balance, reason="test setup")
        db.session.remove()
    return uid


def allowed_statuses(backend: str) -> set[int]:
    return {201, 402} if backend == "postgresql" else {201, 402, 503}


def test_hundred_concurrent_deductions_for_twenty_charges(app, client, api, backend, audit):
    top_up(app, "ada@example.com", 20 * 10)
    token = api.token
    clients = [clone_client(app, client) for _ in range(WORKERS)]

    def deduct(i):
        response = clients[i % WORKERS].post(
            "/api/tokens/deduct", json={"feature_key": "cover_letter"}, headers={"X-CSRFToken": token}
        )
        return response.status_code, response.get_json()

    results = run_together(100, deduct)
    statuses = [status for status, _ in results]
    assert set(statuses) <= allowed_statuses(backend)
    assert all(
        body["error"] in ("insufficient_tokens", "service_unavailable") for status, body in results if status != 201
    )
    succeeded = statuses.count(201)
    if backend == "postgresql":
        assert succeeded == 20
    assert api.balance() == 200 - 10 * succeeded
    assert sorted(body["balance"] for status, body in results if status == 201) == list(range(0, 200, 10))[-succeeded:]
    audit()


def test_one_idempotency_key_sent_concurrently_charges_once(app, client, api, backend, audit):
    top_up(app, "ada@example.com", 100)
    token = api.token
    clients = [clone_client(app, client) for _ in range(WORKERS)]

    def deduct(i):
        response = clients[i].post(
            "/api/tokens/deduct",
            json={"feature_key": "cover_letter", "idempotency_key": "same"},
            headers={"X-CSRFToken": token},
        )
        return response.status_code, response.get_json()

    results = run_together(WORKERS, deduct)
    assert {status for status, _ in results} <= allowed_statuses(backend) - {402}
    charge_ids = {body["charge_id"] for status, body in results if status == 201}
    assert len(charge_ids) == 1
    assert api.balance() == 90
    audit()


def test_top_ups_racing_spends_lose_nothing(app, client, api, backend, audit):
    uid = top_up(app, "ada@example.com", 0)

    def job(i):
        with app.app_context():
            try:
                if i % 2:
                    return "credit" if ledger.credit(uid, 7, TransactionType.PURCHASE, dedupe_key=f"p{i}") else "dup"
                charges.charge(uid, "networking_message")
                return "charge"
            except Exception as error:  # noqa: BLE001 - the test counts every outcome
                return type(error).__name__
            finally:
                db.session.remove()

    outcomes = run_together(80, job)
    assert outcomes.count("credit") == 40
    assert set(outcomes) <= {"credit", "charge", "InsufficientTokens"}
    assert api.balance() == 40 * 7 - outcomes.count("charge") * 3
    audit()


def test_concurrent_refunds_of_one_charge_refund_once(app, api, backend, audit):
    uid = user_id(app, "ada@example.com")
    with app.app_context():
        charge_id = charges.charge(uid, "cover_letter").charge_id

    def refund(_):
        with app.app_context():
            try:
                return charges.refund_charge(charge_id)
            finally:
                db.session.remove()

    assert run_together(WORKERS, refund).count(True) == 1
    assert api.balance() == 10
    audit()


@pytest.mark.parametrize("rounds", [3])
def test_welcome_bonus_once_under_concurrent_opens(app, api, audit, rounds):
    uid = user_id(app, "ada@example.com")

    def reopen(_):
        with app.app_context():
            try:
                ledger.open_account(uid)
                return "ok"
            except Exception as error:  # noqa: BLE001 - the test counts every outcome
                return type(error).__name__
            finally:
                db.session.remove()

    for _ in range(rounds):
        assert set(run_together(WORKERS, reopen)) <= {"ok", "OperationalError"}
    assert api.balance() == 10
    audit()


def test_clients_share_one_session(app, client, api):
    assert Api(clone_client(app, client)).balance() == 10
