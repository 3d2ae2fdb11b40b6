"""The commerce error tree: every failure a buyer, merchant or caller can be told about.

Codes are stable (clients switch on them); `http_status` is what the API answers.
"""

from config.errors import ApplicationError


class CommerceError(ApplicationError):
    code = "commerce_error"
    http_status = 400


class NotFound(CommerceError):
    """Unknown id, or an id that belongs to someone else (we never reveal which)."""

    code = "not_found"
    http_status = 404


class InvalidQuantity(CommerceError):
    code = "invalid_quantity"
    http_status = 400


class SoldOut(CommerceError):
    code = "sold_out"
    http_status = 409


class StockBusy(CommerceError):
    """Every stock row of a split item with free units stayed held by other buyers: try again."""

    code = "stock_busy"
    http_status = 503
    retriable = True


class LimitExceeded(CommerceError):
    code = "limit_exceeded"
    http_status = 409


class DropNotLive(CommerceError):
    code = "drop_not_live"
    http_status = 409


class ReservationExpired(CommerceError):
    code = "reservation_expired"
    http_status = 409


class ReservationNotActive(CommerceError):
    code = "reservation_not_active"
    http_status = 409


class NothingToCheckout(CommerceError):
    code = "no_reservations"
    http_status = 409


class MixedMerchants(CommerceError):
    code = "mixed_merchants"
    http_status = 422


class InvalidTransition(CommerceError):
    """A state machine (drop or order) refused the requested move."""

    code = "invalid_transition"
    http_status = 409


class DropNotEditable(CommerceError):
    code = "drop_not_editable"
    http_status = 409


class EditionExceeded(CommerceError):
    code = "edition_exceeded"
    http_status = 422


class InvalidCatalogData(CommerceError):
    code = "invalid_catalog_data"
    http_status = 422


class IdempotencyKeyReused(CommerceError):
    code = "idempotency_key_reused"
    http_status = 422


class IdempotencyKeyInProgress(CommerceError):
    code = "idempotency_key_in_progress"
    http_status = 409
    retriable = True


class InvalidIdempotencyKey(CommerceError):
    code = "invalid_idempotency_key"
    http_status = 400


class UsernameTaken(CommerceError):
    code = "username_taken"
    http_status = 409


class ShippingAddressRequired(CommerceError):
    """The order has something to ship and no address was given."""

    code = "shipping_address_required"
    http_status = 400


class UnknownCarrier(CommerceError):
    code = "unknown_carrier"
    http_status = 400


class InvalidShipmentData(CommerceError):
    code = "invalid_shipment_data"
    http_status = 400


class OwnerRequired(CommerceError):
    """A merchant's staff asked for what only its owners may do (refunds, payouts, members, collections)."""

    code = "owner_required"
    http_status = 403


class LastOwner(CommerceError):
    """The change would leave the merchant without an owner."""

    code = "last_owner"
    http_status = 409


class AlreadyMember(CommerceError):
    code = "already_member"
    http_status = 409


class ChallengeInvalid(CommerceError):
    """A contract-ownership challenge is unknown, expired, used, for another contract, or badly signed."""

    code = "challenge_invalid"
    http_status = 400


class OwnershipNotProven(CommerceError):
    """The challenge was not signed by the contract's on-chain owner or admin: nothing was registered."""

    code = "ownership_not_proven"
    http_status = 403


class CurrencyMismatch(CommerceError):
    """A drop (and so an order) is in one currency: a SKU priced in another cannot join it."""

    code = "currency_mismatch"
    http_status = 400


class ChargesNotEnabled(CommerceError):
    """The merchant's Stripe account cannot take charges yet (onboarding unfinished): no drop may open."""

    code = "charges_not_enabled"
    http_status = 409


class InvalidApplication(CommerceError):
    """A seller application is missing fields or has invalid ones."""

    code = "invalid_application"
    http_status = 400


class ApplicationNotPending(CommerceError):
    """The seller application was already reviewed (or one is already waiting for review)."""

    code = "application_not_pending"
    http_status = 409


class InvalidFeePlan(CommerceError):
    """A fee plan above 100 %, a negative fixed fee, or a currency code that is not ISO 4217."""

    code = "invalid_fee_plan"
    http_status = 400


class NotConnectMerchant(CommerceError):
    """The merchant settles on the platform's own Stripe account, not on a connected account."""

    code = "not_connect_merchant"
    http_status = 409
