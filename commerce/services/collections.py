"""A merchant's own NFT collection: deployed on chain with its royalties, then put in the catalog."""

from eth_utils import is_address, to_checksum_address

from commerce.errors import InvalidCatalogData, NotFound
from commerce.models import Merchant, NftCollection
from commerce.services.catalog import create_collection


def set_payout_address(*, merchant_id: int, address: str, royalty_bps: int | None = None) -> Merchant:
    """Where the merchant is paid on chain (its collections' ERC-2981 royalty receiver)."""
    if not isinstance(address, str) or not is_address(address):
        raise InvalidCatalogData("Not an Ethereum address.", details={"field": "payout_address"})
    if royalty_bps is not None and not 0 <= royalty_bps <= 10_000:
        raise InvalidCatalogData("Royalty must be 0..10000 basis points.", details={"field": "royalty_bps"})
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        raise NotFound("Merchant not found.", details={"resource": "merchant", "id": merchant_id})
    merchant.payout_address = to_checksum_address(address)
    fields = ["payout_address", "updated_at"]
    if royalty_bps is not None:
        merchant.royalty_bps = royalty_bps
        fields.append("royalty_bps")
    merchant.save(update_fields=fields)
    return merchant


def deploy_merchant_collection(*, merchant_id: int, name: str, symbol: str) -> NftCollection:
    """Deploy a collection whose royalties go to the merchant's payout address, and register it.

    The deployment waits for its receipt (network), so it runs outside any database transaction.
    """
    from nft.services.collections import deploy_collection

    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        raise NotFound("Merchant not found.", details={"resource": "merchant", "id": merchant_id})
    if not merchant.payout_address:
        raise InvalidCatalogData(
            "Set the merchant's payout address before deploying a collection: it receives the royalties.",
            details={"field": "payout_address"},
        )
    onchain = deploy_collection(
        name=name, symbol=symbol, royalty_receiver=merchant.payout_address, royalty_bps=merchant.royalty_bps
    )
    return create_collection(
        merchant_id=merchant.pk,
        name=name,
        symbol=symbol,
        chain_id=onchain.chain_id,
        contract_address=onchain.address,
    )
