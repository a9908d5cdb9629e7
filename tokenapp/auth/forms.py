"""Forms for signing up and in."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, StopValidation, ValidationError

from ..services import passwords

COMMON_PASSWORD_MESSAGE = "This password is on a list of common passwords that attackers try first. Choose another."


def not_common_password(form, field) -> None:
    """Refuse passwords on the common-password list (NIST SP 800-63B)."""
    if passwords.is_common(field.data):
        raise ValidationError(COMMON_PASSWORD_MESSAGE)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class LengthFirst(Length):
    """Length that stops the chain, so slower checks (the email parser is linear but slow) never see a
    megabyte of input; wtforms runs every validator after a plain ValidationError."""

    def __call__(self, form, field):
        try:
            super().__call__(form, field)
        except StopValidation:
            raise
        except ValueError as error:
            raise StopValidation(str(error)) from None


class RegisterForm(FlaskForm):
    """A new account: email, password and an optional referral code."""

    email = EmailField(
        "Email", filters=[_strip], validators=[DataRequired(), LengthFirst(max=254), Email(check_deliverability=False)]
    )
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=128), not_common_password])
    referral_code = StringField("Referral code (optional)", filters=[_strip], validators=[Optional(), Length(max=16)])


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField("Email", filters=[_strip], validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])
