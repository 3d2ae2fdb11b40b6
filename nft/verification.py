"""The public verify page's reads: what a token is (from its mint) and its state, read from the chain."""

from dataclasses import dataclass
from typing import Any

from nft.errors import CallReverted, InvalidAddress, TokenNotFound
from nft.models import Collection, Mint, MintStatus, Redemption, RedemptionStatus
from nft.services.mints import check_address
from nft.services.redemptions import chain_owner, chain_redeemed


@dataclass(frozen=True)
class TokenVerification:
    chain_id: int
    contract: str
    collection_name: str
    token_id: int
    name: str
    image: str
    product_kind: str
    serial: str
    edition: str
    owner: str  # ownerOf, read on chain now
    redeemable: bool
    redeemed: bool | None  # isRedeemed, read on chain now (None: this contract cannot tell)
    redeemed_at: Any
    mint_tx_hash: str


def verify_token(*, chain_id: int, contract: str, token_id: int) -> TokenVerification:
    """Product, serial, current owner and redemption state of one of our tokens; TokenNotFound else."""
    try:
        address = check_address(contract)
    except InvalidAddress:
        raise TokenNotFound(f"not a contract address: {contract!r}") from None
    collection = Collection.objects.filter(chain_id=chain_id, address=address).first()
    mint = (
        Mint.objects.select_related("current_tx")
        .filter(collection=collection, token_id=token_id, status=MintStatus.CONFIRMED)
        .first()
        if collection
        else None
    )
    if collection is None or mint is None:
        raise TokenNotFound(f"no token {token_id} in {contract} on chain {chain_id}")
    owner = chain_owner(collection=collection, token_id=token_id)
    try:
        redeemed: bool | None = chain_redeemed(collection=collection, token_id=token_id)
    except CallReverted:
        redeemed = None
    meta = mint.metadata
    confirmed = Redemption.objects.filter(
        collection=collection, token_id=token_id, status=RedemptionStatus.CONFIRMED
    ).first()
    edition = f"{meta['edition']} of {meta['edition_size']}" if meta.get("edition_size") else ""
    return TokenVerification(
        chain_id=chain_id,
        contract=address,
        collection_name=collection.name,
        token_id=token_id,
        name=str(meta.get("name") or f"{collection.name} #{token_id}"),
        image=str(meta.get("image") or ""),
        product_kind=str(meta.get("product_kind") or ""),
        serial=str(meta.get("serial") or ""),
        edition=edition,
        owner=owner,
        redeemable=bool(meta.get("redeemable")),
        redeemed=redeemed,
        redeemed_at=confirmed.confirmed_at if confirmed else None,
        mint_tx_hash=mint.current_tx.tx_hash if mint.current_tx else "",
    )
