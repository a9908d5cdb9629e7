"""Stripe's error bodies, raised as exceptions and turned into responses."""

from .util import json_response

DOC_URL = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    """An API error with Stripe's `{"error": {...}}` body."""

    def __init__(self, message, *, status=400, type="invalid_request_error", param=None, code=None, **extra):
        super().__init__(message)
        self.status = status
        self.error = {"type": type, "message": message}
        if code:
            self.error.update(code=code, doc_url=DOC_URL + code.replace("_", "-"))
        if param:
            self.error["param"] = param
        self.error.update(extra)

    def body(self) -> dict:
        """The JSON body Stripe sends for this error."""
        return {"error": dict(self.error)}

    def response(self, headers=None):
        """A Flask response carrying this error."""
        return json_response(self.body(), self.status, headers)


def no_such(kind: str, obj_id: str, param: str = "id") -> StripeError:
    """404 resource_missing, worded as Stripe words it."""
    return StripeError(f"No such {kind}: '{obj_id}'", status=404, param=param, code="resource_missing")


def missing(param: str) -> StripeError:
    """400 parameter_missing."""
    return StripeError(f"Missing required param: {param}.", param=param, code="parameter_missing")


def unknown(param: str) -> StripeError:
    """400 parameter_unknown."""
    return StripeError(f"Received unknown parameter: {param}", param=param, code="parameter_unknown")


def invalid(param: str, message: str, code: str | None = None) -> StripeError:
    """400 for a parameter whose value Stripe would refuse."""
    return StripeError(message, param=param, code=code)


def state_error(message: str, param: str | None = None) -> StripeError:
    """400 for an operation the object's current state does not allow."""
    return StripeError(message, param=param)
