"""Read queries of the chain layer (explorer, wallets, token metadata); none of them writes."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from nft.chain import client
from nft.errors import TokenNotFound
from nft.metadata import token_document
from nft.models import (
    Block,
    ChainTransaction,
    Mint,
    MintStatus,
    Redemption,
    RedemptionStatus,
    TokenOwnership,
    Wallet,
)
from nft.services.fees import suggest_fees
from nft.services.mints import check_address


def parse_token_id(value: str) -> int:
    """A uint256 token id from a URL segment, or TokenNotFound."""
    try:
        token_id = int(Decimal(value)) if value.isdigit() else -1
    except InvalidOperation:
        token_id = -1
    if not 0 <= token_id < 2**256:
        raise TokenNotFound(f"not a token id: {value!r}")
    return token_id


def stored_tip(chain_id: int) -> int | None:
    return (
        Block.objects.filter(chain_id=chain_id).order_by("-number").values_list("number", flat=True).first()
    )


def _confirmations(chain_id: int, block_number: int | None) -> int:
    tip = stored_tip(chain_id)
    if block_number is None or tip is None or tip < block_number:
        return 0
    return tip - block_number + 1


def token_detail(*, chain_id: int, contract: str, token_id: int) -> dict[str, Any]:
    """Owner (as indexed), mint record and token URI of one token."""
    contract = check_address(contract)
    owner = TokenOwnership.objects.filter(chain_id=chain_id, contract=contract, token_id=token_id).first()
    mint = Mint.objects.filter(collection__chain_id=chain_id, collection__address=contract, token_id=token_id)
    mint_row = mint.select_related("collection", "current_tx").first()
    if owner is None and mint_row is None:
        raise TokenNotFound(f"token {token_id} of {contract} is not known here")
    return {
        "chain_id": chain_id,
        "contract": contract,
        "token_id": str(token_id),
        "owner": owner.owner if owner else None,
        "last_transfer_tx": owner.tx_hash if owner else None,
        "token_uri": f"{mint_row.collection.base_uri}{token_id}" if mint_row else None,
        "mint": (
            {
                "status": mint_row.status,
                "order_id": mint_row.order_id,
                "line_id": mint_row.line_id,
                "tx_hash": mint_row.current_tx.tx_hash if mint_row.current_tx else None,
            }
            if mint_row
            else None
        ),
    }


def tokens_of_owner(*, address: str, chain_id: int | None = None) -> list[dict[str, Any]]:
    rows = TokenOwnership.objects.filter(owner=check_address(address), chain_id=chain_id or settings.CHAIN_ID)
    return [
        {
            "chain_id": r.chain_id,
            "contract": r.contract,
            "token_id": str(int(r.token_id)),
            "since_block": r.block_number,
        }
        for r in rows.order_by("contract", "token_id")
    ]


def transaction_status(*, tx_hash: str) -> dict[str, Any] | None:
    """Status of one of our transactions, with confirmations counted from the confirmer's tip."""
    tx = ChainTransaction.objects.select_related("sender").filter(tx_hash=tx_hash.lower()).first()
    if tx is None:
        return None
    return {
        "tx_hash": tx.tx_hash,
        "kind": tx.kind,
        "status": tx.status,
        "sender": tx.sender.address,
        "nonce": tx.nonce,
        "to": tx.to_address or None,
        "block_number": tx.block_number,
        "block_hash": tx.block_hash or None,
        "confirmations": _confirmations(tx.chain_id, tx.block_number),
        "required_confirmations": settings.CHAIN_CONFIRMATIONS,
        "max_fee_per_gas": str(tx.max_fee_per_gas),
        "max_priority_fee_per_gas": str(tx.max_priority_fee_per_gas),
        "gas_used": tx.gas_used,
        "replaced_by": ChainTransaction.objects.filter(replaces=tx).values_list("tx_hash", flat=True).first(),
    }


def address_balance(*, address: str) -> dict[str, Any]:
    address = check_address(address)
    wei = client().balance(address)
    tokens = TokenOwnership.objects.filter(chain_id=settings.CHAIN_ID, owner=address).count()
    return {"address": address, "chain_id": settings.CHAIN_ID, "balance_wei": str(wei), "tokens": tokens}


def gas_price() -> dict[str, Any]:
    base = client().base_fee()
    fees = suggest_fees()
    return {
        "chain_id": settings.CHAIN_ID,
        "base_fee_per_gas": str(base),
        "max_priority_fee_per_gas": str(fees.max_priority_fee_per_gas),
        "max_fee_per_gas": str(fees.max_fee_per_gas),
        "max_fee_cap": str(settings.NFT_MAX_FEE_PER_GAS_WEI),
    }


def wallets_of(*, user: Any) -> list[Wallet]:
    return list(Wallet.objects.filter(user=user).order_by("kind", "created_at"))


def token_metadata(*, chain_id: int, contract: str, token_id: int) -> dict[str, Any]:
    """ERC-721 metadata JSON of a minted (or minting) token, from its mint record."""
    mint = (
        Mint.objects.select_related("collection")
        .filter(collection__chain_id=chain_id, collection__address=check_address(contract), token_id=token_id)
        .exclude(status=MintStatus.FAILED)
        .first()
    )
    if mint is None:
        raise TokenNotFound(f"no token {token_id} in {contract}")
    meta = mint.metadata
    redeemed = None
    if meta.get("redeemable"):
        redeemed = Redemption.objects.filter(
            collection=mint.collection, token_id=token_id, status=RedemptionStatus.CONFIRMED
        ).exists()
    return token_document(
        meta=meta, collection_name=mint.collection.name, token_id=token_id, redeemed=redeemed
    )
