"""Views for /account: thin wrappers over accounts.change_password."""

from typing import cast

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..auth.session import current_session_id
from ..ratelimits import limited, note_failure
from ..services import accounts
from ..services.errors import WrongPassword
from . import bp
from .forms import ChangePasswordForm


@bp.route("/account", methods=["GET", "POST"])
@limited("password_change")
@login_required
def account():
    """The account page; changing the password here ends every other session."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                current_user.id,
                cast(str, form.current_password.data),  # validated: required
                cast(str, form.new_password.data),
                keep_session_id=current_session_id(),
            )
        except WrongPassword as error:
            note_failure()
            form.current_password.errors.append(error.message)  # type: ignore[attr-defined]  # a list once validated (stubs: Sequence)
        else:
            flash("Password changed. Every other session is now signed out.", "success")
            return redirect(url_for("account.account"))
    return render_template("account/account.html", form=form), 200 if request.method == "GET" else 422
