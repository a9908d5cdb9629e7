"""Domain errors; views map each `code` to a status or a form message."""


class DomainError(Exception):
    """A refusal the user can act on; nothing was changed."""

    code = "invalid_request"
    status = 400

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidAmount(DomainError):
    code = "invalid_amount"


class InvalidRecipient(DomainError):
    """A transfer to oneself, or to no one."""

    code = "invalid_recipient"


class UnknownFeature(DomainError):
    code = "unknown_feature"


class UnknownUser(DomainError):
    code = "unknown_user"
    status = 404


class InsufficientTokens(DomainError):
    code = "insufficient_tokens"
    status = 402

    def __init__(self, balance: int, cost: int):
        super().__init__(f"This needs {cost} tokens and you have {balance}.", balance=balance, cost=cost)
        self.balance = balance
        self.cost = cost


class MissingConfirmationKey(DomainError):
    """A confirmed press without a well-formed idempotency key."""

    code = "invalid_request"


class IdempotencyConflict(DomainError):
    code = "idempotency_conflict"
    status = 409


class ChargeNotUsable(DomainError):
    """The charge is unknown to this user, settled, expired, or for another feature."""

    code = "charge_not_usable"
    status = 409


class EmailTaken(DomainError):
    code = "email_taken"
    status = 409


class WrongPassword(DomainError):
    """The current password given to confirm a change does not match."""

    code = "wrong_password"


class UnknownPackage(DomainError):
    code = "unknown_package"


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PaymentsUnavailable(DomainError):
    """Stripe prices are not set up, or the plan is not on sale."""

    code = "payments_unavailable"
    status = 503


class PaymentProviderError(DomainError):
    """Stripe could not be reached or refused the request."""

    code = "payment_provider_error"
    status = 502


class PaymentProviderUnavailable(PaymentProviderError):
    """Stripe did not answer (or is overloaded): nothing changed, try again shortly."""

    code = "payment_provider_unavailable"
    status = 503


class StripeObjectMissing(NotFound):
    """Stripe answered 404: it has no object with that id."""


class InvalidWebhook(DomainError):
    """A webhook whose signature or body does not check out."""

    code = "invalid_webhook"


class RejectedWebhook(InvalidWebhook):
    """Correctly signed, but malformed or contradicted by Stripe: stored as rejected, never retried."""

    event: object = None  # the parsed body of a malformed event, stored with the rejection


class WebhookProcessingFailed(DomainError):
    """A verified event that failed to process; Stripe should retry it."""

    code = "webhook_failed"
    status = 500
