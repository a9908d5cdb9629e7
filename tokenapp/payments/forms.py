"""The buy buttons: small forms so CSRF protects them and they work without JavaScript."""

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length


class BuyPackageForm(FlaskForm):
    """Start a Checkout for one token package."""

    package_key = HiddenField(validators=[DataRequired(), Length(max=40)])


class SubscribeForm(FlaskForm):
    """Start a Checkout for the Unlimited plan."""
