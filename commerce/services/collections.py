"""A merchant's own NFT collection: deployed on chain with its royalties, then put in the catalog."""

from django.conf import settings
from django.db import transaction
from eth_utils import is_address, to_checksum_address

from commerce.errors import InvalidCatalogData, NotFound
from commerce.models import Merchant, NftCollection
from commerce.services.catalog import create_collection
from realtime.outbox import emit


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


def change_payout_address(*, merchant_id: int, address: str, royalty_bps: int | None = None) -> Merchant:
    """An owner changes where the merchant is paid on chain: every collection the platform deployed
    for it gets the new ERC-2981 receiver (and rate) by an on-chain transaction, then the merchant row
    changes and merchant.royalty_receiver_changed is emitted with the transaction hashes.

    The chain transactions go first (each waits for its receipt, outside any database transaction);
    if one fails nothing is recorded and repeating the change is harmless (setting the same value).
    Collections registered by proof (the merchant's own contracts) keep their receiver: the platform
    holds no admin role on them.
    """
    from nft.models import Collection
    from nft.services.collections import set_royalty_receiver

    if not isinstance(address, str) or not is_address(address):
        raise InvalidCatalogData("Not an Ethereum address.", details={"field": "payout_address"})
    if royalty_bps is not None and not 0 <= royalty_bps <= 10_000:
        raise InvalidCatalogData("Royalty must be 0..10000 basis points.", details={"field": "royalty_bps"})
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        raise NotFound("Merchant not found.", details={"resource": "merchant", "id": merchant_id})
    receiver = to_checksum_address(address)
    bps = merchant.royalty_bps if royalty_bps is None else royalty_bps
    contracts = list(
        NftCollection.objects.filter(merchant_id=merchant.pk, chain_id=settings.CHAIN_ID).values_list(
            "contract_address", flat=True
        )
    )
    deployed = Collection.objects.filter(chain_id=settings.CHAIN_ID, address__in=contracts)
    tx_hashes = [
        set_royalty_receiver(address=c.address, royalty_receiver=receiver, royalty_bps=bps)
        for c in deployed.order_by("pk")
        if (c.royalty_receiver, c.royalty_bps) != (receiver, bps)
    ]
    with transaction.atomic():
        merchant = set_payout_address(merchant_id=merchant.pk, address=receiver, royalty_bps=bps)
        emit(
            type="merchant.royalty_receiver_changed",
            key=merchant.pk,
            payload={
                "merchant_id": merchant.pk,
                "payout_address": receiver,
                "royalty_bps": bps,
                "tx_hashes": tx_hashes,
            },
        )
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
