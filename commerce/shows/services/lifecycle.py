"""Show lifecycle: create, go live, end (scheduled -> live -> ended)."""

import contextlib
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from commerce.errors import CommerceError
from commerce.models import DropState, Merchant
from commerce.services.drops import end_drop
from commerce.shows.errors import InvalidShowData, InvalidShowTransition, ShowNotFound
from commerce.shows.models import SHOW_TRANSITIONS, Show, ShowState
from commerce.shows.services.common import lock_show
from commerce.shows.services.pins import close_pin
from realtime.outbox import emit
from realtime.shows.publish import push_on_commit

ALLOWED_SCHEMES = ("https://", "http://", "/")


def check_playback_url(url: str) -> str:
    """An HLS playlist or player URL: absolute http(s) or a path on our own site; nothing else."""
    url = (url or "").strip()
    if not url or len(url) > 500 or not url.startswith(ALLOWED_SCHEMES) or url.startswith("//"):
        raise InvalidShowData(
            "playback_url must be an http(s) URL or a path on this site.", details={"field": "playback_url"}
        )
    return url


def create_show(
    *,
    merchant_id: int,
    title: str,
    playback_url: str,
    scheduled_at: datetime,
    description: str = "",
    cover_image_url: str = "",
) -> Show:
    """A scheduled show of the merchant."""
    if not Merchant.objects.filter(pk=merchant_id).exists():
        raise ShowNotFound("Merchant not found.", details={"resource": "merchant", "id": merchant_id})
    if cover_image_url and not cover_image_url.startswith(ALLOWED_SCHEMES):
        raise InvalidShowData("cover_image_url must be an http(s) URL.", details={"field": "cover_image_url"})
    return Show.objects.create(
        merchant_id=merchant_id,
        title=title.strip()[:200] or "Live show",
        description=description[:5000],
        cover_image_url=cover_image_url[:500],
        playback_url=check_playback_url(playback_url),
        scheduled_at=scheduled_at,
    )


def update_show(
    *,
    show_id: int,
    merchant_id: int,
    title: str,
    playback_url: str,
    scheduled_at: datetime,
    description: str = "",
    cover_image_url: str = "",
) -> Show:
    """Edit a scheduled show (title, description, start, stream, cover); a live or ended one is fixed.

    Like `create_show`, no event: nothing downstream reacts to a scheduled show's details.
    """
    if cover_image_url and not cover_image_url.startswith(ALLOWED_SCHEMES):
        raise InvalidShowData("cover_image_url must be an http(s) URL.", details={"field": "cover_image_url"})
    playback_url = check_playback_url(playback_url)
    with transaction.atomic():
        show = lock_show(show_id, merchant_id=merchant_id)
        if show.state != ShowState.SCHEDULED:
            raise InvalidShowTransition(
                f"A {show.state} show can no longer be edited.",
                details={"show_id": show.pk, "state": show.state},
            )
        show.title = title.strip()[:200] or "Live show"
        show.description = description[:5000]
        show.cover_image_url = cover_image_url[:500]
        show.playback_url = playback_url
        show.scheduled_at = scheduled_at
        show.save(update_fields=["title", "description", "cover_image_url", "playback_url",
                                 "scheduled_at", "updated_at"])  # fmt: skip
        return show


def _transition(show: Show, to_state: str, *, reason: str) -> Show:
    if to_state not in SHOW_TRANSITIONS[show.state]:
        raise InvalidShowTransition(
            f"A {show.state} show cannot become {to_state}.",
            details={"show_id": show.pk, "from_state": show.state, "to_state": to_state},
        )
    from_state, now = show.state, timezone.now()
    show.state = to_state
    if to_state == ShowState.LIVE:
        show.started_at = now
    if to_state == ShowState.ENDED:
        show.ended_at = now
    show.save(update_fields=["state", "started_at", "ended_at", "updated_at"])
    payload = {
        "show_id": show.pk,
        "merchant_id": show.merchant_id,
        "from_state": from_state,
        "to_state": to_state,
        "reason": reason[:100],
        "started_at": show.started_at,
        "ended_at": show.ended_at,
    }
    emit(type="show.state_changed", key=show.pk, payload=payload)
    push_on_commit(show.pk, "show_state", state=to_state, from_state=from_state,
                   started_at=show.started_at, ended_at=show.ended_at)  # fmt: skip
    return show


def go_live(*, show_id: int, merchant_id: int) -> Show:
    """The host starts the show: viewers see it live."""
    with transaction.atomic():
        return _transition(
            lock_show(show_id, merchant_id=merchant_id), ShowState.LIVE, reason="host went live"
        )


def end_show(*, show_id: int, merchant_id: int) -> Show:
    """The host ends the show: the pin comes down and a running flash drop ends with it."""
    with transaction.atomic():
        show = lock_show(show_id, merchant_id=merchant_id)
        _transition(show, ShowState.ENDED, reason="ended by host")
        close_pin(show, reason="show ended")
        drop = show.flash_drop
        if drop is not None and drop.state != DropState.ENDED:
            # Already ended by time in between: nothing left to close.
            with contextlib.suppress(CommerceError):
                end_drop(drop_id=drop.pk, merchant_id=merchant_id, reason="show ended")
        return show
