"""Driving the app as a person or a script would: the real forms with their CSRF token, the JSON API."""

import re
import threading

PASSWORD = "correct-horse-battery"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client) -> str:
    """The CSRF token a page gives this client's session."""
    page = client.get("/")
    match = CSRF_META.search(page.get_data(as_text=True))
    assert match, "page has no csrf-token meta tag"
    return match.group(1)


class AuthActions:
    """Sign up and log in through the real forms, CSRF token included."""

    def __init__(self, client):
        self.client = client

    def register(self, email="ada@example.com", password=PASSWORD, **extra):
        token = csrf_token(self.client)
        return self.client.post(
            "/auth/register", data={"email": email, "password": password, "csrf_token": token, **extra}
        )

    def login(self, email="ada@example.com", password=PASSWORD):
        token = csrf_token(self.client)
        return self.client.post("/auth/login", data={"email": email, "password": password, "csrf_token": token})

    def logout(self):
        token = csrf_token(self.client)
        return self.client.post("/auth/logout", data={"csrf_token": token})


class Api:
    """JSON calls with the session's CSRF header."""

    def __init__(self, client):
        self.client = client
        self._token = None

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = csrf_token(self.client)
        return self._token

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path, json=None, headers=None, **kwargs):
        headers = {"X-CSRFToken": self.token, **(headers or {})}
        return self.client.post(path, json=json, headers=headers, **kwargs)

    def deduct(self, feature_key="cover_letter", **body):
        return self.post("/api/tokens/deduct", json={"feature_key": feature_key, **body})

    def balance(self) -> int:
        return self.get("/api/tokens/balance").get_json()["balance"]


def user_id(app, email: str) -> int:
    from tokenapp.services.accounts import find_by_email

    with app.app_context():
        return find_by_email(email).id


def clone_client(app, client):
    """A new test client sharing `client`'s logged-in session."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def run_threads(*targets) -> None:
    """Start a thread per target and wait for them all."""
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
