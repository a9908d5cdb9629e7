"""The change-password form."""

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from ..auth.forms import not_common_password


class ChangePasswordForm(FlaskForm):
    """The current password, to confirm, and the new one."""

    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=128)])
    new_password = PasswordField(
        "New password", validators=[DataRequired(), Length(min=8, max=128), not_common_password]
    )
