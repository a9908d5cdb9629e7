"""Forms for signing up and in."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class RegisterForm(FlaskForm):
    """A new account: email, password and an optional referral code."""

    email = EmailField("Email", filters=[_strip],
                       validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=128)])
    referral_code = StringField("Referral code (optional)", filters=[_strip], validators=[Optional(), Length(max=16)])


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField("Email", filters=[_strip], validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])
