"""Every kind of notification: its category, subject line and whether it is a warning.

Each kind has two templates, `notifications/email/<name>.txt` and `.html` (the HTML extends
`email/base.html`); the subject and the in-app title are the `subject` format string filled from
the same context (values are made header-safe before use).
"""

from dataclasses import dataclass

from notifications.categories import Category


@dataclass(frozen=True)
class Kind:
    name: str
    category: Category
    subject: str  # str.format() over the render context
    warning: bool = False


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        # buyers
        Kind("receipt", Category.RECEIPTS, "Your receipt for order #{order_id} at {store_name}"),
        Kind("payment_failed", Category.RECEIPTS, "Payment for order #{order_id} did not go through"),
        Kind("refunded", Category.RECEIPTS, "Refund of {amount} for order #{order_id}"),
        Kind("minted", Category.NFT, "Your NFT {title} is minted"),
        Kind("claim_completed", Category.NFT, "Your claim of token #{token_id} {outcome_word}"),
        Kind("shipped", Category.SHIPPING, "Order #{order_id} is on its way"),
        Kind("delivered", Category.SHIPPING, "Order #{order_id} was delivered"),
        Kind("wallet_transfer_in", Category.WALLET, "Your wallet received {asset}"),
        Kind("wallet_transfer_out", Category.WALLET, "{asset} left your wallet"),
        Kind(
            "wallet_approval_warning",
            Category.SECURITY,
            "Warning: your wallet approved an unknown operator for all its tokens",
            warning=True,
        ),
        # merchants
        Kind("merchant_new_order", Category.MERCHANT, "New order #{order_id} to ship"),
        Kind("merchant_sold_out", Category.MERCHANT, "Sold out: {sku_title} in {drop_title}"),
        Kind("merchant_show_live", Category.MERCHANT, "Your show {show_title} is live"),
        # account (not from events)
        Kind("verify_email", Category.ACCOUNT, "Confirm your e-mail address for {site_name}"),
        Kind("password_reset", Category.ACCOUNT, "Reset your {site_name} password"),
        Kind("password_changed", Category.ACCOUNT, "Your {site_name} password was changed"),
    )
}


def kind(name: str) -> Kind:
    """The kind called `name` (KeyError for an unknown one: a programming error)."""
    return KINDS[name]
