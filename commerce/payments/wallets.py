"""Where a buyer's tokens go: the nft app decides (linked wallet first, else a custodial one)."""

from django.contrib.auth import get_user_model

from nft.services.wallets import receiving_address


def buyer_mint_address(buyer_id: int) -> str | None:
    """The address to mint a buyer's tokens to, creating their custodial wallet on first use.

    None only when the buyer no longer exists.
    """
    buyer = get_user_model().objects.filter(pk=buyer_id).first()
    if buyer is None:
        return None
    return receiving_address(user=buyer)
