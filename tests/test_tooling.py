"""Tooling that guards the code: mypy sees what goes to Stripe, every ignore says why, the locks are current.

Stripe calls go straight to the SDK inside `stripe_api.errors()` or `stripe_api.reading()`, so mypy checks
each `params` dict against the TypedDicts stripe-python generates from Stripe's OpenAPI spec. The snippet
below uses the same call shapes as tokenapp/services/; mypy must refuse exactly its marked lines.
"""

import re
import textwrap
import tomllib
from pathlib import Path

from mypy import api as mypy_api
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = [ROOT / "tokenapp", ROOT / "stripe_standin"]

SNIPPET = textwrap.dedent('''
    from typing import TYPE_CHECKING

    from tokenapp.services import stripe_api

    if TYPE_CHECKING:
        from stripe.params.checkout import SessionCreateParams


    def as_written() -> None:
        """What purchases.py and subscriptions.py send: accepted."""
        params: SessionCreateParams = {"mode": "payment", "success_url": "https://example.com/ok",
                                       "line_items": [{"price": "price_1", "quantity": 1}]}
        params["customer_email"] = "ada@example.com"
        with stripe_api.errors("creating a checkout session"):
            stripe_api.client().v1.checkout.sessions.create(params=params, options={"idempotency_key": "k"})
            stripe_api.client().v1.customers.create(params={"email": "ada@example.com", "metadata": {"user_id": "1"}})
        with stripe_api.reading("subscription", "sub_1"):
            stripe_api.client().v1.subscriptions.retrieve("sub_1")


    def misspelled_key() -> None:
        with stripe_api.errors("creating a checkout session"):
            stripe_api.client().v1.checkout.sessions.create(params={"mode": "payment", "sucess_url": "x"})  # refused


    def wrong_value_type() -> None:
        with stripe_api.errors("creating a customer"):
            stripe_api.client().v1.customers.create(params={"email": "ada@example.com", "metadata": 1})  # refused


    def misspelled_key_in_a_typed_variable() -> None:
        params: SessionCreateParams = {"mode": "payment", "cancel_ulr": "x"}  # refused
        with stripe_api.errors("creating a checkout session"):
            stripe_api.client().v1.checkout.sessions.create(params=params)


    def misspelled_key_added_later(params: SessionCreateParams) -> None:
        params["customer_emial"] = "ada@example.com"  # refused
''')


def test_mypy_checks_stripe_params_against_the_sdk_typeddicts(tmp_path, monkeypatch):
    snippet = tmp_path / "stripe_calls.py"
    snippet.write_text(SNIPPET)
    monkeypatch.setenv("MYPYPATH", str(ROOT))
    out, err, status = mypy_api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "--no-error-summary",
            "--hide-error-context",
            str(snippet),
        ]
    )
    errors = {int(line.split(":")[1]): line for line in out.splitlines() if ": error:" in line}
    refused = {number for number, text in enumerate(SNIPPET.splitlines(), 1) if text.endswith("# refused")}
    assert set(errors) == refused, (out, err)
    assert status == 1
    assert all(re.search(r"(SessionCreateParams|CustomerCreateParams)", line) for line in errors.values()), out


REASONED_NOQA = re.compile(r"# noqa: [A-Z]+[0-9]+(,[A-Z]+[0-9]+)* - \S")
REASONED_IGNORE = re.compile(r"# type: ignore\[[a-z-]+(, *[a-z-]+)*\]  # \S")


def test_every_ignore_in_the_product_says_why():
    unexplained = []
    for folder in PRODUCT:
        for path in sorted(folder.rglob("*.py")) if folder.is_dir() else []:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if ("# noqa" in line and not REASONED_NOQA.search(line)) or (
                    "# type: ignore" in line and not REASONED_IGNORE.search(line)
                ):
                    unexplained.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert unexplained == []


PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)


def _pins(name: str) -> dict[str, set[Version]]:
    """Every version a lock file pins, by package (a universal lock may pin two, one per marker)."""
    pins: dict[str, set[Version]] = {}
    for package, version in PIN.findall((ROOT / name).read_text(encoding="utf-8")):
        pins.setdefault(canonicalize_name(package), set()).add(Version(version))
    return pins


def test_the_lock_files_pin_what_pyproject_allows():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    wanted = [(runtime, text) for text in project["dependencies"]]
    wanted += [(dev, text) for text in project["dependencies"] + project["optional-dependencies"]["dev"]]
    stale = []
    for pins, text in wanted:
        requirement = Requirement(text)
        versions = pins.get(canonicalize_name(requirement.name), set())
        if not versions or not all(requirement.specifier.contains(v, prereleases=True) for v in versions):
            stale.append(f"{text}: locked {sorted(map(str, versions)) or 'nothing'}")
    assert stale == [], "run `make lock` after changing pyproject.toml"
    assert all(dev.get(name) == versions for name, versions in runtime.items()), "the locks disagree: run `make lock`"
