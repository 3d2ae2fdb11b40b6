"""A merchant blocks (or unblocks) a buyer for one drop or for the whole shop."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from commerce.abuse import blocklist
from commerce.abuse.errors import InvalidBlock, NotFound
from commerce.abuse.models import BuyerBlock
from commerce.models import Drop
from realtime.outbox import emit

SCOPES = ("drop", "shop")


def _drop_of_merchant(*, merchant_id: int, drop_id: int) -> Drop:
    drop = Drop.objects.filter(pk=drop_id, merchant_id=merchant_id).first()
    if drop is None:
        raise NotFound("Drop not found.", details={"resource": "drop", "id": drop_id})
    return drop


def _forget_now_and_on_commit(drop_id: int | None) -> None:
    """This process's cached set is dropped now (this transaction reads its own write) and again after
    commit (a concurrent reader may have cached the old set in between)."""
    blocklist.forget(drop_id)
    transaction.on_commit(lambda: blocklist.forget(drop_id))


def _scoped(*, merchant_id: int, drop_id: int | None, buyer_id: int) -> Any:
    """The block rows of (merchant, drop or shop-wide when None, buyer)."""
    rows = BuyerBlock.objects.filter(merchant_id=merchant_id, buyer_id=buyer_id)
    return rows.filter(drop__isnull=True) if drop_id is None else rows.filter(drop_id=drop_id)


def _check(*, merchant_id: int, drop_id: int, buyer_id: int, scope: str) -> Drop:
    if scope not in SCOPES:
        raise InvalidBlock("scope must be 'drop' or 'shop'.", details={"field": "scope", "allowed": SCOPES})
    drop = _drop_of_merchant(merchant_id=merchant_id, drop_id=drop_id)
    if not get_user_model().objects.filter(pk=buyer_id).exists():
        raise NotFound("Buyer not found.", details={"resource": "buyer", "id": buyer_id})
    return drop


def block_buyer(
    *, merchant_id: int, drop_id: int, buyer_id: int, scope: str, reason: str = "", by_user_id: int | None
) -> tuple[BuyerBlock, bool]:
    """Refuse the buyer's reservations in the drop (scope "drop") or every drop of the shop ("shop").

    Returns the block and whether it is new; blocking twice is a no-op (one `drop.buyer_blocked`).
    Reservations the buyer already holds are kept (the merchant can cancel their orders).
    """
    drop = _check(merchant_id=merchant_id, drop_id=drop_id, buyer_id=buyer_id, scope=scope)
    scoped_drop = drop.pk if scope == "drop" else None
    existing = _scoped(merchant_id=merchant_id, drop_id=scoped_drop, buyer_id=buyer_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            block = BuyerBlock.objects.create(
                merchant_id=merchant_id, drop_id=scoped_drop, buyer_id=buyer_id, reason=reason[:200],
                blocked_by_id=by_user_id,
            )  # fmt: skip
            emit(
                type="drop.buyer_blocked",
                key=drop.pk,
                payload={
                    "drop_id": drop.pk,
                    "merchant_id": merchant_id,
                    "buyer_id": buyer_id,
                    "scope": scope,
                    "reason": reason[:200],
                    "blocked_by": by_user_id,
                },
            )
            _forget_now_and_on_commit(drop.pk if scope == "drop" else None)
    except IntegrityError:  # blocked at the same moment by another request
        return _scoped(merchant_id=merchant_id, drop_id=scoped_drop, buyer_id=buyer_id).get(), False
    return block, True


def unblock_buyer(
    *, merchant_id: int, drop_id: int, buyer_id: int, scope: str, by_user_id: int | None
) -> bool:
    """Lift a block; False when there was none (nothing emitted)."""
    drop = _check(merchant_id=merchant_id, drop_id=drop_id, buyer_id=buyer_id, scope=scope)
    scoped_drop = drop.pk if scope == "drop" else None
    with transaction.atomic():
        deleted, _ = _scoped(merchant_id=merchant_id, drop_id=scoped_drop, buyer_id=buyer_id).delete()
        if not deleted:
            return False
        emit(
            type="drop.buyer_unblocked",
            key=drop.pk,
            payload={
                "drop_id": drop.pk,
                "merchant_id": merchant_id,
                "buyer_id": buyer_id,
                "scope": scope,
                "unblocked_by": by_user_id,
            },
        )
        _forget_now_and_on_commit(drop.pk if scope == "drop" else None)
    return True
