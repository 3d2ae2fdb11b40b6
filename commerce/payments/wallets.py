"""Where a buyer's tokens go: their linked wallet, else their custodial one (the nft app's data)."""

import importlib
import logging

log = logging.getLogger(__name__)


def buyer_mint_address(buyer_id: int) -> str | None:
    """The address to mint a buyer's tokens to, or None when the buyer has no wallet and none can be made.

    Linked (Sign-In with Ethereum) wallets win over the custodial one. When the buyer has neither,
    the nft app's custodial-wallet service is asked to create one, if it offers one.
    """
    from nft.models import Wallet

    wallets = list(Wallet.objects.filter(user_id=buyer_id).order_by("-created_at"))
    for kind in ("linked", "custodial"):
        for wallet in wallets:
            if wallet.kind == kind:
                return str(wallet.address)
    try:
        module = importlib.import_module("nft.services.wallets")
    except ImportError:
        return None
    for name in ("ensure_custodial_wallet", "custodial_wallet_for"):
        make = getattr(module, name, None)
        if callable(make):
            wallet = make(user_id=buyer_id)
            return str(getattr(wallet, "address", wallet))
    return None
