"""Gas top-ups: a custodial wallet that must send a transaction itself (claim, redeem) is funded first.

Plan outside the database transaction (`plan_gas_topup` reads the chain), sign inside it
(`sign_gas_topup`), so the top-up and the transaction it pays for commit together.
"""

from dataclasses import dataclass

from nft.chain import client
from nft.keys import signer_account
from nft.models import ChainTransaction, SenderAccount, TxKind
from nft.services.fees import Fees
from nft.services.locks import lock_sender
from nft.services.senders import allocate_nonce, ensure_sender
from nft.services.signing import sign_and_store

TRANSFER_GAS = 21_000


@dataclass(frozen=True)
class GasTopup:
    """What `address` lacks to pay `gas_limit` at `fees`, and the platform sender that pays it."""

    address: str
    shortfall: int
    funder: SenderAccount


def plan_gas_topup(*, address: str, gas_limit: int, fees: Fees) -> GasTopup | None:
    """None when `address` already holds enough for `gas_limit` at the fees' cap (reads the chain)."""
    shortfall = max(0, gas_limit * fees.max_fee_per_gas - client().balance(address))
    if not shortfall:
        return None
    return GasTopup(
        address=address, shortfall=shortfall, funder=ensure_sender(address=signer_account().address)
    )


def sign_gas_topup(topup: GasTopup, *, fees: Fees, claim_id: int | None = None) -> ChainTransaction:
    """Inside the caller's transaction: sign and store the top-up (twice the shortfall, for fee drift)."""
    locked = lock_sender(topup.funder.pk)
    return sign_and_store(
        sender=locked,
        nonce=allocate_nonce(locked),
        kind=TxKind.FUND,
        to_address=topup.address,
        data=b"",
        value=topup.shortfall * 2,
        gas_limit=TRANSFER_GAS,
        fees=fees,
        claim_id=claim_id,
    )
