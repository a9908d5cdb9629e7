"""The buy buttons: small forms so CSRF protects them and they work without JavaScript."""

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length, Regexp


class BuyPackageForm(FlaskForm):
    """Start a Checkout for one token package."""

    package_key = HiddenField(validators=[DataRequired(), Length(max=40)])


class SubscribeForm(FlaskForm):
    """Start a Checkout for the Unlimited plan."""


class CancelCheckoutForm(FlaskForm):
    """Close an unpaid Checkout Session for good (the cancel page's button)."""

    purchase = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9]{1,10}$")])
