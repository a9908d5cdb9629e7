"""Hostile strings in every field of every form: a 4xx or a normal page, never a 5xx, and a 4xx changes nothing.

The forms are found, not listed by hand: the WTForms classes under tokenapp/*/forms.py
and every feature form declared in tokenapp/features/forms.py. Each example puts one
hostile value (NUL, lone surrogates as a client would send them, RTL and zero-width
characters, 10k-character text, markup, "%00", Unicode digits, huge integers, or
any text Hypothesis picks) into one field, or uses it as a field's name, with the
other fields filled in validly.
"""

import importlib
import io
import itertools
import pkgutil
import threading
import time
from urllib.parse import urlencode

from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from wtforms.fields.core import UnboundField

import tokenapp
from support.database import database_state
from support.web import csrf_token, user_id
from tokenapp.extensions import db
from tokenapp.features.forms import FORMS
from tokenapp.jobs import queue

EXAMPLES_PER_FORM = 10
OWNED_TABLES = {
    "users",
    "token_accounts",
    "token_transactions",
    "token_charges",
    "token_purchases",
    "subscriptions",
    "feature_runs",
    "resumes",
    "referrals",
    "stripe_events",
}
HOSTILE = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\ud83d",
    "\u202eevil\u202c",
    "\u200b\u200d\ufeff",
    "\u2066rtl\u2069",
    "x" * 10_000,
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "%00",
    "%ED%A0%80",
    "²",
    "١٢",
    "１２",
    "9" * 40,
    str(2**63),
    str(-(2**63) - 1),
    "-1",
    "0",
    "",
    " ",
    "\r\n",
    "\t",
    "../../etc/passwd",
    "' OR 1=1 --",
    "{{7*7}}",
    "${7*7}",
    "NaN",
    "Infinity",
    "\U0001f600" * 50,
    "a@b",
    "é" * 300,
]
VALID = {
    "job_description": "Python developer with SQL, 3+ years, remote.",
    "resume_text": "Ada Lovelace\nPython, SQL",
    "tone": "concise",
    "level": "senior",
    "role": "Engineer",
    "location": "Remote",
    "offer": "120000",
    "company": "Acme",
    "question": "Tell me about yourself.",
    "answer": "I build things.",
    "story": "I shipped a thing.",
    "recipient": "Grace",
    "context": "We met at a conference.",
    "target_role": "Staff Engineer",
    "current_role": "Engineer",
    "audience": "A recruiter",
}
HOSTILE_VALUES = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.integers().map(str),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
)


def _declared_forms() -> list[type[FlaskForm]]:
    """Every FlaskForm subclass in a forms module of the package."""
    forms = []
    for module in pkgutil.walk_packages(tokenapp.__path__, "tokenapp."):
        if module.name.endswith(".forms"):
            loaded = importlib.import_module(module.name)
            forms += [
                value
                for value in vars(loaded).values()
                if isinstance(value, type) and issubclass(value, FlaskForm) and value is not FlaskForm
            ]
    return forms


def _form_fields(form: type[FlaskForm]) -> list[str]:
    return [name for name in dir(form) if isinstance(getattr(form, name), UnboundField)]


# form class name -> (path, logged in?, valid fields)
WTFORMS = {
    "RegisterForm": (
        "/auth/register",
        False,
        {"email": "eve@example.com", "password": "a-long-passphrase-9", "referral_code": ""},
    ),
    "LoginForm": ("/auth/login", False, {"email": "eve@example.com", "password": "a-long-passphrase-9"}),
    "BuyPackageForm": ("/tokens/checkout", True, {"package_key": "starter"}),
    "SubscribeForm": ("/tokens/subscribe", True, {}),
    "CancelCheckoutForm": ("/tokens/cancel", True, {"purchase": "1"}),
    "ChangePasswordForm": (
        "/account",
        True,
        {"current_password": "not-the-password-9", "new_password": "a-new-long-passphrase-7"},
    ),
}
OTHER_POSTS = {  # forms with no WTForms class: the gate's confirm and the welcome modal's dismiss
    "gate_confirm": ("/tokens/gate/ats_check/confirm", True, {"idempotency_key": "press-key"}),
    "welcome_dismiss": ("/welcome/dismiss", True, {}),
}


def _feature_form(feature_key: str) -> tuple[str, bool, dict]:
    fields = {"idempotency_key": "press-key"}
    for field in FORMS[feature_key]:
        if field.kind == "file":
            fields[field.name] = b"Ada Lovelace\nPython developer\nSkills: Python, SQL"
        elif field.kind == "select":
            fields[field.name] = field.choices[0][0]
        elif field.kind != "resume":
            fields[field.name] = VALID.get(field.name, "Something")
    return f"/features/{feature_key}/run", True, fields


ALL_FORMS = {**WTFORMS, **OTHER_POSTS, **{f"feature:{key}": _feature_form(key) for key in FORMS}}


def _encode(fields: dict) -> tuple[bytes, str]:
    """The body a client sends; lone surrogates go out as the bytes a careless encoder would write."""
    if any(isinstance(value, bytes) for value in fields.values()):
        return fields, "multipart/form-data"
    return urlencode(fields, encoding="utf-8", errors="surrogatepass").encode(
        "ascii"
    ), "application/x-www-form-urlencoded"


def _encodable(text: str) -> str:
    """A multipart body cannot carry a lone surrogate at all: the client writes "?"."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _with_files(fields: dict) -> dict:
    return {
        _encodable(name): (io.BytesIO(value), "resume.txt") if isinstance(value, bytes) else _encodable(value)
        for name, value in fields.items()
    }


def test_every_form_is_attacked():
    declared = {form.__name__: form for form in _declared_forms()}
    assert set(declared) == set(WTFORMS), "a form class has no entry in WTFORMS"
    for name, form in declared.items():
        assert set(_form_fields(form)) <= set(WTFORMS[name][2]), f"{name} has fields the test does not fill"
    assert all(f"feature:{key}" in ALL_FORMS for key in FORMS)


def _wait_for_runs(app, seconds: float = 20) -> None:
    """Wait until no feature run is queued or running.

    The runs go to the app's in-process pool: its jobs are awaited first (for at most `seconds`),
    so the check below mostly passes at once, where polling alone overslept by up to an interval
    after every example that started a run.
    """
    from tokenapp.models import FeatureRun

    deadline = time.monotonic() + seconds
    pool = threading.Thread(target=queue.finish_in_process, args=(app,), daemon=True)
    pool.start()
    pool.join(seconds)
    while time.monotonic() < deadline:
        with app.app_context():
            busy = db.session.execute(select(FeatureRun.id).where(FeatureRun.status.in_(("queued", "running")))).first()
            db.session.remove()
        if busy is None:
            return
        time.sleep(0.05)
    raise AssertionError("feature runs did not finish")


def test_hostile_strings_in_every_form_field(app, client, auth):
    from tokenapp.services import ledger

    assert auth.register().status_code == 302
    with app.app_context():
        ledger.adjust(user_id(app, "ada@example.com"), 1000, reason="test: room for many runs")
    token = csrf_token(client)
    statuses: dict[str, set[int]] = {}
    presses = itertools.count()

    for label, (path, logged_in, valid) in ALL_FORMS.items():
        targets = [*sorted(name for name, value in valid.items() if not isinstance(value, bytes)), "<name>"]
        file_fields = [name for name, value in valid.items() if isinstance(value, bytes)]

        @settings(
            max_examples=EXAMPLES_PER_FORM,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(target=st.sampled_from(targets + file_fields), value=HOSTILE_VALUES)
        def attack(target, value):
            sender = client if logged_in else app.test_client()  # noqa: B023 - run within this iteration
            fields = {"csrf_token": token if logged_in else csrf_token(sender), **valid}  # noqa: B023 - run within this iteration
            if "idempotency_key" in fields:
                fields["idempotency_key"] = f"press-{next(presses)}"  # a new press each time
            if target == "<name>":
                fields[value or "empty"] = "x"
            elif target in file_fields:  # noqa: B023 - run within this iteration
                fields[target] = value.encode("utf-8", "surrogatepass")
            else:
                fields[target] = value
            _wait_for_runs(app)  # a run an earlier example started may still settle
            before = database_state(app, OWNED_TABLES)
            body, content_type = _encode(fields)
            if content_type == "multipart/form-data":
                body = _with_files(body)
            response = sender.post(path, data=body, content_type=content_type)  # noqa: B023 - run within this iteration
            statuses.setdefault(label, set()).add(response.status_code)  # noqa: B023 - run within this iteration
            assert response.status_code < 500, (label, target, value[:80], response.status_code)  # noqa: B023 - run within this iteration
            assert "Traceback" not in response.get_data(as_text=True)
            if 400 <= response.status_code < 500:
                _wait_for_runs(app)
                assert database_state(app, OWNED_TABLES) == before, (label, target, value[:80])  # noqa: B023 - run within this iteration

        attack()
    _wait_for_runs(app)
    # The attacks reached the views: some forms were accepted, the rest refused with a 4xx.
    assert any(codes & {200, 302, 303} for codes in statuses.values()), statuses
    assert all(codes for codes in statuses.values())
