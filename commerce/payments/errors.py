"""The payments error tree: what a buyer, Stripe, an admin or a worker can be told."""

from config.errors import ApplicationError


class PaymentsError(ApplicationError):
    code = "payments_error"
    http_status = 400


class NotFound(PaymentsError):
    code = "not_found"
    http_status = 404


class InvalidSignature(PaymentsError):
    """The Stripe-Signature header is missing, wrong, or its timestamp is outside the tolerance."""

    code = "invalid_signature"
    http_status = 400


class MalformedEvent(PaymentsError):
    """A correctly signed body that is not a Stripe event we can read."""

    code = "malformed_event"
    http_status = 400


class OrderNotPayable(PaymentsError):
    code = "order_not_payable"
    http_status = 409


class RefundNotAllowed(PaymentsError):
    code = "refund_not_allowed"
    http_status = 409


class DemoDisabled(PaymentsError):
    code = "demo_disabled"
    http_status = 404


class StripeUnavailable(PaymentsError):
    """Stripe did not answer, or answered 5xx / 429: the same idempotent call may be repeated."""

    code = "stripe_unavailable"
    http_status = 503
    retriable = True


class StripeRejected(PaymentsError):
    """Stripe refused the request for good (4xx): repeating it with the same key cannot help."""

    code = "stripe_rejected"
    http_status = 502


class ConsentRequired(PaymentsError):
    """A card is saved for off-session charges only with the buyer's explicit consent."""

    code = "consent_required"
    http_status = 400


class CardNeedsAuthentication(PaymentsError):
    """The card's bank wants the buyer to authenticate (3-D Secure) before it can be saved."""

    code = "card_needs_authentication"
    http_status = 409
