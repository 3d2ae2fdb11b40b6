"""Registering a contract the platform did not deploy: its on-chain owner/admin signs a challenge.

A merchant gets a collection into its catalog in one of two ways only:
- the platform deploys it for the merchant (`deploy_merchant_collection`, which registers it at once);
- the merchant proves control of an existing contract: we issue a nonce bound to (merchant, chain,
  contract), the contract's Ownable `owner()` or an AccessControl DEFAULT_ADMIN_ROLE holder signs our
  message (EIP-191 personal_sign), and we check that signer on chain before storing anything.

A contract the platform deployed has the platform's key as its admin, which no merchant can sign
for: registering another merchant's platform collection this way is refused like any foreign one.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_address, to_checksum_address

from commerce.errors import ChallengeInvalid, InvalidCatalogData, NotFound, OwnershipNotProven
from commerce.models import CollectionChallenge, Merchant, NftCollection
from commerce.services.catalog import create_collection

MESSAGE = (
    "mintdrop: prove control of a contract to register it as a collection.\n"
    "Merchant: {merchant_id}\n"
    "Chain ID: {chain_id}\n"
    "Contract: {contract}\n"
    "Nonce: {nonce}\n"
    "Expires: {expires}"
)


def _check_target(*, merchant_id: int, chain_id: int, contract_address: str) -> str:
    if not Merchant.objects.filter(pk=merchant_id).exists():
        raise NotFound("Merchant not found.", details={"resource": "merchant", "id": merchant_id})
    if not isinstance(contract_address, str) or not is_address(contract_address):
        raise InvalidCatalogData("Not an Ethereum address.", details={"field": "contract_address"})
    if int(chain_id) != int(settings.CHAIN_ID):
        raise InvalidCatalogData(
            f"Only contracts on chain {settings.CHAIN_ID} can be verified.", details={"field": "chain_id"}
        )
    address = to_checksum_address(contract_address)
    if NftCollection.objects.filter(chain_id=chain_id, contract_address__iexact=address).exists():
        raise InvalidCatalogData(
            "This contract is already registered.", details={"field": "contract_address"}
        )
    return address


def issue_collection_challenge(
    *, merchant_id: int, chain_id: int, contract_address: str
) -> CollectionChallenge:
    """A single-use message for the contract's owner to sign, valid COLLECTION_CHALLENGE_TTL_SECONDS."""
    address = _check_target(merchant_id=merchant_id, chain_id=chain_id, contract_address=contract_address)
    nonce = secrets.token_hex(16)
    expires_at = timezone.now() + timedelta(seconds=settings.COLLECTION_CHALLENGE_TTL_SECONDS)
    message = MESSAGE.format(
        merchant_id=merchant_id,
        chain_id=chain_id,
        contract=address,
        nonce=nonce,
        expires=expires_at.replace(microsecond=0).isoformat(),
    )
    return CollectionChallenge.objects.create(
        merchant_id=merchant_id,
        chain_id=chain_id,
        contract_address=address,
        nonce=nonce,
        message=message,
        expires_at=expires_at,
    )


def register_proven_collection(
    *,
    merchant_id: int,
    name: str,
    symbol: str,
    chain_id: int,
    contract_address: str,
    nonce: str,
    signature: str,
) -> NftCollection:
    """Register a contract whose owner/admin signed the challenge `nonce`; nothing is stored otherwise.

    The challenge is spent first (one attempt per nonce, right or wrong), then the signer is
    recovered and checked on chain (network, outside any transaction), then the collection is stored.
    """
    address = _check_target(merchant_id=merchant_id, chain_id=chain_id, contract_address=contract_address)
    challenge = _spend(merchant_id=merchant_id, chain_id=chain_id, address=address, nonce=nonce)
    signer = _recover(challenge.message, signature)
    from nft.ownership import controls, is_contract

    if not is_contract(address):
        raise OwnershipNotProven(
            "There is no contract at this address.", details={"field": "contract_address"}
        )
    if not controls(contract=address, account=signer):
        raise OwnershipNotProven(
            "The signer is not the contract's owner or admin on chain.",
            details={"field": "signature", "signer": signer},
        )
    return create_collection(
        merchant_id=merchant_id, name=name, symbol=symbol, chain_id=chain_id, contract_address=address
    )


def _spend(*, merchant_id: int, chain_id: int, address: str, nonce: str) -> CollectionChallenge:
    now = timezone.now()
    spent = CollectionChallenge.objects.filter(
        nonce=nonce,
        merchant_id=merchant_id,
        chain_id=chain_id,
        contract_address=address,
        used_at__isnull=True,
        expires_at__gt=now,
    ).update(used_at=now)
    if spent != 1:
        raise ChallengeInvalid(
            "The challenge is unknown, expired, already used or for another contract: ask for a new one.",
            details={"field": "nonce"},
        )
    return CollectionChallenge.objects.get(nonce=nonce)


def _recover(message: str, signature: str) -> str:
    try:
        return str(Account.recover_message(encode_defunct(text=message), signature=signature))
    except Exception:  # eth-account raises several types for a malformed signature
        raise ChallengeInvalid(
            "The signature is not a valid signature.", details={"field": "signature"}
        ) from None
