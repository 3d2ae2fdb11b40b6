"""Celery beat tasks of commerce: each only calls a service."""

from celery import shared_task

from commerce.services.drops import advance_drops_by_time
from commerce.services.idempotency import purge_old_keys
from commerce.services.reservations import release_expired_reservations


@shared_task(name="commerce.tasks.expire_reservations")
def expire_reservations() -> int:
    """Release reservations past their TTL (stock back on sale, inventory.released)."""
    return release_expired_reservations(limit=2000)


@shared_task(name="commerce.tasks.advance_drops")
def advance_drops() -> int:
    """Start and end drops whose time has come."""
    return advance_drops_by_time()


@shared_task(name="commerce.tasks.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return purge_old_keys()


@shared_task(name="commerce.tasks.purge_expired_tokens")
def purge_expired_tokens() -> int:
    """Delete expired API tokens."""
    from commerce.services.tokens import purge_expired_tokens as purge

    return purge()
