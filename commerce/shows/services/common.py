"""Helpers shared by the show services: the row lock, ownership and host checks."""

from django.db.models import QuerySet

from commerce.models import MerchantMembership
from commerce.shows.errors import NotHost, ShowNotFound, ShowNotLive
from commerce.shows.models import Show, ShowState


def lock_show(show_id: int, *, merchant_id: int | None = None) -> Show:
    """Inside the caller's transaction: the show row, locked; ShowNotFound if absent or not the merchant's."""
    qs: QuerySet[Show] = Show.objects.select_for_update().filter(pk=show_id)
    show = qs.first()
    if show is None or (merchant_id is not None and show.merchant_id != merchant_id):
        raise ShowNotFound("Show not found.", details={"resource": "show", "id": show_id})
    return show


def require_live(show: Show, action: str) -> None:
    """Host actions that put something in front of viewers need a live show."""
    if show.state != ShowState.LIVE:
        raise ShowNotLive(
            f"The show is {show.state}; {action} needs a live show.",
            details={"show_id": show.pk, "state": show.state},
        )


def is_host(*, user_id: int | None, merchant_id: int) -> bool:
    """Whether the user works for the merchant hosting the show (and may moderate it)."""
    if user_id is None:
        return False
    return MerchantMembership.objects.filter(user_id=user_id, merchant_id=merchant_id).exists()


def require_host(*, user_id: int, show: Show) -> None:
    if not is_host(user_id=user_id, merchant_id=show.merchant_id):
        raise NotHost("Only the show's host (merchant staff) may do this.", details={"show_id": show.pk})
