"""Sender accounts and their nonce sequence: allocated under a row lock, healed against the chain.

`lock_sender` lives in `nft.services.locks` with the other row locks of nft.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from eth_utils import to_checksum_address

from nft.chain import client
from nft.models import ChainTransaction, SenderAccount, TxKind
from nft.models.chain import LIVE_STATUSES
from nft.services.fees import suggest_fees
from nft.services.locks import lock_sender
from nft.services.signing import sign_and_store

logger = logging.getLogger(__name__)


def ensure_sender(*, address: str, custody_index: int | None = None) -> SenderAccount:
    """The SenderAccount row of `address`, created with the chain's pending nonce the first time."""
    address = to_checksum_address(address)
    existing = SenderAccount.objects.filter(chain_id=settings.CHAIN_ID, address=address).first()
    if existing is not None:
        return existing
    pending = client().nonce(address, "pending")  # network call before any transaction
    sender, _ = SenderAccount.objects.get_or_create(
        chain_id=settings.CHAIN_ID,
        address=address,
        defaults={"next_nonce": pending, "custody_index": custody_index},
    )
    return sender


def allocate_nonce(sender: SenderAccount) -> int:
    """Hand out the next nonce of a sender locked with `lock_sender` (same transaction)."""
    nonce = sender.next_nonce
    sender.next_nonce = nonce + 1
    sender.save(update_fields=["next_nonce", "updated_at"])
    return nonce


def heal_nonces(*, sender_id: int) -> list[int]:
    """Bring the local nonce counter back in line with the chain; return nonces filled with no-ops.

    - counter behind the chain (the key was used elsewhere): jump to the chain's pending nonce;
    - counter ahead of the chain with nothing of ours in between (e.g. a lost database write):
      rewind to the first nonce the chain still expects;
    - a nonce between the chain's and ours that no stored transaction holds (a gap that would
      stall every later transaction): fill it with a 0-value self-transfer.
    """
    sender = SenderAccount.objects.get(pk=sender_id)
    fees = suggest_fees()
    chain_latest = client().nonce(sender.address, "latest")
    chain_pending = client().nonce(sender.address, "pending")
    filled: list[int] = []
    with transaction.atomic():
        sender = lock_sender(sender_id)
        ours = ChainTransaction.objects.filter(sender=sender)
        # Every nonce a stored transaction holds stays taken (an included one may be un-mined by a
        # reorg the confirmer has not processed yet).
        top = ours.filter(status__in=LIVE_STATUSES).aggregate(m=Max("nonce"))["m"]
        floor = max(chain_pending, (top + 1) if top is not None else 0)
        if sender.next_nonce < chain_pending:
            logger.warning(
                "nonce counter of %s behind chain: %s -> %s", sender.address, sender.next_nonce, chain_pending
            )
            sender.next_nonce = chain_pending
        elif sender.next_nonce > floor:
            logger.warning(
                "nonce counter of %s ahead of chain: %s -> %s", sender.address, sender.next_nonce, floor
            )
            sender.next_nonce = floor
        sender.save(update_fields=["next_nonce", "updated_at"])
        held = set(
            ours.filter(
                nonce__gte=chain_latest, nonce__lt=sender.next_nonce, status__in=LIVE_STATUSES
            ).values_list("nonce", flat=True)
        )
        for nonce in range(chain_latest, sender.next_nonce):
            if nonce not in held:
                sign_and_store(
                    sender=sender,
                    nonce=nonce,
                    kind=TxKind.NOOP,
                    to_address=sender.address,
                    data=b"",
                    gas_limit=21_000,
                    fees=fees,
                )
                filled.append(nonce)
    if filled:
        logger.warning("filled nonce gaps of %s: %s", sender.address, filled)
    return filled
