"""Views for sign-up, sign-in and sign-out."""

from typing import cast
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..ratelimits import limited, note_failure
from ..services import accounts
from ..services.errors import EmailTaken
from . import bp
from .forms import LoginForm, RegisterForm
from .session import sign_in, sign_out


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login.

    Browsers read a backslash as a slash, so `/\\evil.example` is `//evil.example`;
    control characters are dropped by them too.
    """
    if not target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return url_for("main.index")
    normalised = target.replace("\\", "/")
    if normalised.startswith("/") and not normalised.startswith("//") and not urlsplit(normalised).netloc:
        return target
    return url_for("main.index")


@bp.route("/register", methods=["GET", "POST"])
@limited("signup")
def register():
    """Create an account, grant the welcome bonus and sign in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if request.method == "GET" and request.args.get("ref"):
        form.referral_code.data = request.args["ref"][:16]
    if form.validate_on_submit():
        try:
            user = accounts.register(
                cast(str, form.email.data),
                cast(str, form.password.data),  # validated: required
                form.referral_code.data,
            )
        except EmailTaken as error:
            form.email.errors.append(error.message)  # type: ignore[attr-defined]  # a list once validated (stubs: Sequence)
        else:
            sign_in(user)
            flash("Welcome! Your account is ready.", "success")
            return redirect(url_for("main.index"))
    return render_template("auth/register.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/login", methods=["GET", "POST"])
@limited("login")
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(cast(str, form.email.data), cast(str, form.password.data))  # validated: required
        if user is not None:
            sign_in(user)
            return redirect(_safe_next(request.args.get("next")))
        note_failure()
        form.password.errors.append("That email and password do not match an account.")  # type: ignore[attr-defined]  # a list once validated (stubs: Sequence)
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 422


@bp.post("/logout")
@login_required
def logout():
    """Sign out, here and on the server (a POST, so a link or image cannot do it)."""
    sign_out()
    flash("You are signed out.", "info")
    return redirect(url_for("main.index"))
