"""Celery tasks of the chain layer: each one only calls a service."""

from celery import shared_task
from django.db.utils import InterfaceError, OperationalError

from nft.errors import NftError


@shared_task(
    bind=True,
    acks_late=True,
    # A lost database (a restart) is retried like a node error: failing the task would leave the
    # mint `requested` with no transaction, which nothing else picks up again (send_mint is safe to
    # re-run at any point: a stored transaction is re-sent, never signed twice).
    autoretry_for=(NftError, OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=20,
)
def send_mint(self: object, mint_id: int) -> None:
    """Sign (once) and send the mint transaction of one order line."""
    from nft.services.mints import send_mint as do_send_mint

    do_send_mint(mint_id=mint_id)


@shared_task
def rebroadcast_pending() -> int:
    """Re-send stored transactions not yet in a block; the mints of dropped ones are signed afresh."""
    from nft.services.mints import resend_dropped_mints
    from nft.services.transactions import rebroadcast_pending as do

    sent = do()
    resend_dropped_mints()  # the manager only reports a drop; the mint layer re-sends
    return sent


@shared_task
def replace_stuck() -> int:
    """Replace transactions stuck on fees; the mints of dropped ones are signed afresh."""
    from nft.services.mints import resend_dropped_mints
    from nft.services.transactions import replace_stuck as do

    replaced = do()
    resend_dropped_mints()
    return len(replaced)


@shared_task
def heal_nonces() -> int:
    """Check every sender's nonce counter against the chain; fill gaps."""
    from nft.models import SenderAccount
    from nft.services.senders import heal_nonces as do

    filled = 0
    for sender_id in SenderAccount.objects.values_list("pk", flat=True):
        filled += len(do(sender_id=sender_id))
    return filled
